#pragma once
// HttpRouter: maps (method, path) to a handler, with `:name` parameters and a `*` tail.
//
// Patterns are split at '/' into segments: a literal segment ("users"), a parameter (":id", matches
// one non-empty segment) or, as the last segment only, a tail ("*", matches the rest of the path:
// nothing, one segment or several, so "/static/*" matches "/static/", "/static/a" and "/static/a/b",
// but not "/static"). Paths are matched as received, still percent-encoded: "%2F" never splits a
// segment, and parameters and the tail are undecoded views into the path.
//
// Priority does not depend on the order of add(): at each segment a literal beats a parameter, which
// beats a tail. The search backtracks: if "/a/b" leads nowhere for this method, "/a/:x" is tried, then
// "/a/*". A path that some route matches for other methods only gives 405 with those methods (for the
// Allow header); no match at all gives 404. HEAD falls back to the GET handler, and a route added for
// HttpMethod::any accepts every method.
//
// Structure: a trie with one node per pattern prefix. A node has its literal children in a vector
// sorted by segment (binary search), at most one parameter child and at most one tail child, and the
// route index of each method (a fixed array). Parameter names belong to routes, not nodes, so
// "/u/:id" and "/u/:name/x" share a node. match() recurses once per segment, so its depth is bounded
// by the longest pattern whatever the path; it never allocates and captures at most kMaxRouteParams
// parameters.
//
// Threads: build it with add() before serving; match() is const and may then be called from every
// shard at once. add() may reallocate, so it invalidates handlers and names returned by earlier
// matches.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ringcast/net/http/http_request.hpp>

namespace ringcast {

inline constexpr size_t kMaxRouteParams = 8;

// Parameters captured by a match, in pattern order; views into the route (names) and the path (values).
class RouteParams {
 public:
  // The value of parameter `name`, or an empty view.
  std::string_view get(std::string_view name) const noexcept {
    for (size_t i = 0; i < count_; ++i) {
      if (names_[i] == name) return values_[i];
    }
    return {};
  }
  size_t size() const noexcept { return count_; }
  std::string_view name(size_t i) const noexcept { return names_[i]; }
  std::string_view value(size_t i) const noexcept { return values_[i]; }

 private:
  template <typename>
  friend class HttpRouter;

  std::array<std::string_view, kMaxRouteParams> names_;
  std::array<std::string_view, kMaxRouteParams> values_;
  size_t count_ = 0;
};

enum class RouteStatus : uint8_t { found, not_found, method_not_allowed };

template <typename Handler>
struct RouteMatch {
  RouteStatus status = RouteStatus::not_found;
  const Handler* handler = nullptr;  // found: the handler
  RouteParams params;                // found: the parameters of the route
  std::string_view tail;             // found, tail route: what "*" matched (may be empty)
  HttpMethodSet allowed = 0;         // method_not_allowed: the methods this path accepts

  // 0 when found, else 404 or 405.
  int http_status() const noexcept {
    return status == RouteStatus::found ? 0 : status == RouteStatus::not_found ? 404 : 405;
  }
};

template <typename Handler>
class HttpRouter {
 public:
  HttpRouter() { nodes_.emplace_back(); }

  // Adds a route. False (and nothing added) when the pattern is malformed (empty, no leading '/',
  // an empty ":" name, "*" not last, more than kMaxRouteParams parameters) or when the same method and
  // pattern shape is already routed.
  bool add(HttpMethod method, std::string_view pattern, Handler handler) {
    if (pattern.empty() || pattern[0] != '/') return false;
    std::vector<std::string> names;
    std::vector<std::pair<int, std::string_view>> steps;  // (kind, literal): 0 literal, 1 param, 2 tail
    for (size_t pos = 0; pos < pattern.size();) {
      const size_t start = pos + 1;
      const size_t stop = std::min(pattern.find('/', start), pattern.size());
      const std::string_view seg = pattern.substr(start, stop - start);
      if (seg == "*") {
        if (stop != pattern.size()) return false;
        steps.emplace_back(2, seg);
      } else if (!seg.empty() && seg[0] == ':') {
        if (seg.size() == 1 || names.size() == kMaxRouteParams) return false;
        names.emplace_back(seg.substr(1));
        steps.emplace_back(1, seg);
      } else {
        steps.emplace_back(0, seg);
      }
      pos = stop;
    }
    // Check for a duplicate before changing the trie, so a refused add leaves no trace.
    if (const uint32_t existing = find_node(steps); existing != kNone && nodes_[existing].routes[size_t(method)] >= 0) {
      return false;
    }
    uint32_t node = 0;
    for (const auto& [kind, literal] : steps) node = child(node, kind, literal);
    nodes_[node].routes[size_t(method)] = int32_t(routes_.size());
    nodes_[node].methods |= http_method_bit(method);
    if (method == HttpMethod::get) nodes_[node].methods |= http_method_bit(HttpMethod::head);
    routes_.push_back(Route{std::move(handler), std::move(names)});
    return true;
  }

  // Finds the handler for `method` on `path` (undecoded, e.g. HttpRequest::path()). No allocation.
  RouteMatch<Handler> match(HttpMethod method, std::string_view path) const noexcept {
    RouteMatch<Handler> m;
    if (path.empty() || path[0] != '/') return m;
    Search s{path, method, m};
    const int32_t route = search(0, 0, 0, s);
    if (route >= 0) {
      const Route& r = routes_[size_t(route)];
      m.status = RouteStatus::found;
      m.handler = &r.handler;
      m.params.count_ = r.names.size();
      for (size_t i = 0; i < r.names.size(); ++i) m.params.names_[i] = r.names[i];
      m.allowed = 0;
    } else {
      m.params.count_ = 0;
      m.tail = {};
      if (m.allowed != 0) m.status = RouteStatus::method_not_allowed;
    }
    return m;
  }

  size_t size() const noexcept { return routes_.size(); }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr size_t kSlots = kHttpMethodCount + 1;  // every method, then `any`

  struct Node {
    std::vector<std::pair<std::string, uint32_t>> literals;  // sorted by segment
    uint32_t param = kNone;
    uint32_t tail = kNone;
    HttpMethodSet methods = 0;  // methods with a route here (for Allow)
    std::array<int32_t, kSlots> routes = filled(-1);
  };
  struct Route {
    Handler handler;
    std::vector<std::string> names;  // parameter names, in pattern order
  };
  struct Search {
    std::string_view path;
    HttpMethod method;
    RouteMatch<Handler>& m;
  };

  static constexpr std::array<int32_t, kSlots> filled(int32_t v) {
    std::array<int32_t, kSlots> a{};
    a.fill(v);
    return a;
  }

  uint32_t literal_child(const Node& n, std::string_view seg) const noexcept {
    const auto it = std::lower_bound(n.literals.begin(), n.literals.end(), seg,
                                     [](const auto& e, std::string_view s) { return std::string_view(e.first) < s; });
    return (it != n.literals.end() && it->first == seg) ? it->second : kNone;
  }

  uint32_t find_node(const std::vector<std::pair<int, std::string_view>>& steps) const noexcept {
    uint32_t node = 0;
    for (const auto& [kind, literal] : steps) {
      const Node& n = nodes_[node];
      node = kind == 0 ? literal_child(n, literal) : kind == 1 ? n.param : n.tail;
      if (node == kNone) return kNone;
    }
    return node;
  }

  uint32_t child(uint32_t node, int kind, std::string_view literal) {
    if (kind == 0) {
      if (const uint32_t c = literal_child(nodes_[node], literal); c != kNone) return c;
      const auto next = uint32_t(nodes_.size());
      nodes_.emplace_back();
      auto& lits = nodes_[node].literals;
      const auto it = std::lower_bound(lits.begin(), lits.end(), literal,
                                       [](const auto& e, std::string_view s) { return std::string_view(e.first) < s; });
      lits.emplace(it, std::string(literal), next);
      return next;
    }
    uint32_t& slot = kind == 1 ? nodes_[node].param : nodes_[node].tail;
    if (slot == kNone) {
      const auto next = uint32_t(nodes_.size());
      nodes_.emplace_back();
      (kind == 1 ? nodes_[node].param : nodes_[node].tail) = next;
      return next;
    }
    return slot;
  }

  // The route of `n` for the method, or -1. RFC 9110 §9.3.2: HEAD is answered like GET.
  static int32_t route_for(const Node& n, HttpMethod method) noexcept {
    const auto i = size_t(method);
    if (i < kHttpMethodCount && n.routes[i] >= 0) return n.routes[i];
    if (method == HttpMethod::head && n.routes[size_t(HttpMethod::get)] >= 0) return n.routes[size_t(HttpMethod::get)];
    return n.routes[size_t(HttpMethod::any)];
  }

  int32_t at_end(const Node& n, Search& s) const noexcept {
    const int32_t r = route_for(n, s.method);
    if (r < 0) s.m.allowed |= n.methods;
    return r;
  }

  // Matches the path from `pos` (the '/' that starts the next segment) at `node`, with `count`
  // parameters captured so far. Returns the route index or -1.
  int32_t search(uint32_t node, size_t pos, size_t count, Search& s) const noexcept {
    const Node& n = nodes_[node];
    if (pos == s.path.size()) return at_end(n, s);
    const size_t start = pos + 1;
    const size_t stop = std::min(s.path.find('/', start), s.path.size());
    const std::string_view seg = s.path.substr(start, stop - start);
    if (const uint32_t c = literal_child(n, seg); c != kNone) {
      if (const int32_t r = search(c, stop, count, s); r >= 0) return r;
    }
    if (n.param != kNone && !seg.empty() && count < kMaxRouteParams) {
      s.m.params.values_[count] = seg;
      if (const int32_t r = search(n.param, stop, count + 1, s); r >= 0) return r;
    }
    if (n.tail != kNone) {
      if (const int32_t r = at_end(nodes_[n.tail], s); r >= 0) {
        s.m.tail = s.path.substr(start);
        return r;
      }
    }
    return -1;
  }

  std::vector<Node> nodes_;  // nodes_[0] is the root
  std::vector<Route> routes_;
};

}  // namespace ringcast
