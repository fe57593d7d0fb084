#include <ringcast/net/http/http_router.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

using namespace ringcast;

namespace {

using Router = HttpRouter<std::string>;

// The handler's name, or "404"/"405".
std::string route(const Router& r, HttpMethod m, std::string_view path) {
  const auto match = r.match(m, path);
  if (match.status == RouteStatus::not_found) return "404";
  if (match.status == RouteStatus::method_not_allowed) return "405";
  return *match.handler;
}

}  // namespace

TEST_CASE("exact paths match only themselves") {
  Router r;
  REQUIRE(r.add(HttpMethod::get, "/", "root"));
  REQUIRE(r.add(HttpMethod::get, "/a/b", "ab"));
  REQUIRE(r.add(HttpMethod::get, "/a/", "a-slash"));
  CHECK(route(r, HttpMethod::get, "/") == "root");
  CHECK(route(r, HttpMethod::get, "/a/b") == "ab");
  CHECK(route(r, HttpMethod::get, "/a/") == "a-slash");
  CHECK(route(r, HttpMethod::get, "/a") == "404");
  CHECK(route(r, HttpMethod::get, "/a/b/") == "404");
  CHECK(route(r, HttpMethod::get, "/a/bc") == "404");
  CHECK(route(r, HttpMethod::get, "/A/b") == "404");
  CHECK(route(r, HttpMethod::get, "") == "404");
  CHECK(route(r, HttpMethod::get, "*") == "404");
}

TEST_CASE("parameters capture one non-empty segment, by name") {
  Router r;
  REQUIRE(r.add(HttpMethod::get, "/user/:id", "user"));
  REQUIRE(r.add(HttpMethod::get, "/user/:id/post/:post", "post"));
  auto m = r.match(HttpMethod::get, "/user/42");
  REQUIRE(m.status == RouteStatus::found);
  CHECK(*m.handler == "user");
  CHECK(m.params.size() == 1);
  CHECK(m.params.get("id") == "42");
  CHECK(m.params.get("nope").empty());

  m = r.match(HttpMethod::get, "/user/a%2Fb/post/7");
  REQUIRE(m.status == RouteStatus::found);
  CHECK(*m.handler == "post");
  CHECK(m.params.get("id") == "a%2Fb");  // undecoded: %2F does not split a segment
  CHECK(m.params.get("post") == "7");
  CHECK(m.params.name(1) == "post");
  CHECK(m.params.value(0) == "a%2Fb");

  CHECK(route(r, HttpMethod::get, "/user/") == "404");  // empty segment
  CHECK(route(r, HttpMethod::get, "/user") == "404");
  CHECK(route(r, HttpMethod::get, "/user/1/2") == "404");
}

TEST_CASE("routes sharing a parameter position keep their own parameter names") {
  Router r;
  REQUIRE(r.add(HttpMethod::get, "/u/:id", "by-id"));
  REQUIRE(r.add(HttpMethod::get, "/u/:name/profile", "profile"));
  auto m = r.match(HttpMethod::get, "/u/7");
  REQUIRE(m.status == RouteStatus::found);
  CHECK(m.params.get("id") == "7");
  m = r.match(HttpMethod::get, "/u/ann/profile");
  REQUIRE(m.status == RouteStatus::found);
  CHECK(m.params.get("name") == "ann");
  CHECK(m.params.get("id").empty());
}

TEST_CASE("a tail matches the rest of the path, empty and nested included") {
  Router r;
  REQUIRE(r.add(HttpMethod::get, "/static/*", "static"));
  auto m = r.match(HttpMethod::get, "/static/css/site.css");
  REQUIRE(m.status == RouteStatus::found);
  CHECK(m.tail == "css/site.css");
  m = r.match(HttpMethod::get, "/static/");
  REQUIRE(m.status == RouteStatus::found);
  CHECK(m.tail.empty());
  m = r.match(HttpMethod::get, "/static/a//b/");
  REQUIRE(m.status == RouteStatus::found);
  CHECK(m.tail == "a//b/");
  CHECK(route(r, HttpMethod::get, "/static") == "404");
  CHECK(route(r, HttpMethod::get, "/staticx/a") == "404");
}

TEST_CASE("a root tail matches every path") {
  Router r;
  REQUIRE(r.add(HttpMethod::any, "/*", "fallback"));
  CHECK(route(r, HttpMethod::get, "/") == "fallback");
  CHECK(route(r, HttpMethod::post, "/x/y/z") == "fallback");
  CHECK(r.match(HttpMethod::get, "/x/y").tail == "x/y");
}

TEST_CASE("priority is literal, then parameter, then tail, whatever the insertion order") {
  const std::array<std::pair<std::string_view, std::string>, 3> routes = {{
      {"/files/*", "tail"}, {"/files/:name", "param"}, {"/files/readme", "literal"}}};
  std::array<size_t, 3> order = {0, 1, 2};
  do {
    Router r;
    for (const size_t i : order) REQUIRE(r.add(HttpMethod::get, routes[i].first, routes[i].second));
    CHECK(route(r, HttpMethod::get, "/files/readme") == "literal");
    CHECK(route(r, HttpMethod::get, "/files/other") == "param");
    CHECK(route(r, HttpMethod::get, "/files/a/b") == "tail");
    CHECK(route(r, HttpMethod::get, "/files/") == "tail");
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST_CASE("the search backtracks from a literal that leads nowhere") {
  Router r;
  REQUIRE(r.add(HttpMethod::get, "/a/b/c", "abc"));
  REQUIRE(r.add(HttpMethod::get, "/a/:x/d", "axd"));
  REQUIRE(r.add(HttpMethod::get, "/a/*", "a-tail"));
  CHECK(route(r, HttpMethod::get, "/a/b/c") == "abc");
  const auto m = r.match(HttpMethod::get, "/a/b/d");
  REQUIRE(m.status == RouteStatus::found);
  CHECK(*m.handler == "axd");
  CHECK(m.params.get("x") == "b");
  const auto t = r.match(HttpMethod::get, "/a/b/e");
  REQUIRE(t.status == RouteStatus::found);
  CHECK(*t.handler == "a-tail");
  CHECK(t.tail == "b/e");
  CHECK(t.params.size() == 0);
}

TEST_CASE("methods select among routes of one path, and backtracking follows the method") {
  Router r;
  REQUIRE(r.add(HttpMethod::get, "/item/new", "form"));
  REQUIRE(r.add(HttpMethod::post, "/item/:id", "update"));
  CHECK(route(r, HttpMethod::get, "/item/new") == "form");
  CHECK(route(r, HttpMethod::post, "/item/new") == "update");
  CHECK(route(r, HttpMethod::post, "/item/5") == "update");
  CHECK(route(r, HttpMethod::get, "/item/5") == "405");
}

TEST_CASE("405 lists the methods the path accepts; 404 when no route has the path") {
  Router r;
  REQUIRE(r.add(HttpMethod::get, "/thing", "get"));
  REQUIRE(r.add(HttpMethod::put, "/thing", "put"));
  REQUIRE(r.add(HttpMethod::del, "/thing/:id", "delete"));
  auto m = r.match(HttpMethod::post, "/thing");
  CHECK(m.status == RouteStatus::method_not_allowed);
  CHECK(m.http_status() == 405);
  CHECK(m.handler == nullptr);
  std::string allow;
  append_allow(allow, m.allowed);
  CHECK(allow == "GET, HEAD, PUT");
  m = r.match(HttpMethod::get, "/thing/1");
  CHECK(m.status == RouteStatus::method_not_allowed);
  allow.clear();
  append_allow(allow, m.allowed);
  CHECK(allow == "DELETE");
  m = r.match(HttpMethod::get, "/nothing");
  CHECK(m.status == RouteStatus::not_found);
  CHECK(m.http_status() == 404);
  CHECK(m.allowed == 0);
  CHECK(r.match(HttpMethod::get, "/thing").http_status() == 0);
}

TEST_CASE("HEAD falls back to GET; ANY accepts every method but loses to a specific one") {
  Router r;
  REQUIRE(r.add(HttpMethod::get, "/page", "page"));
  REQUIRE(r.add(HttpMethod::any, "/api", "api-any"));
  REQUIRE(r.add(HttpMethod::post, "/api", "api-post"));
  REQUIRE(r.add(HttpMethod::head, "/both", "head"));
  REQUIRE(r.add(HttpMethod::get, "/both", "get"));
  CHECK(route(r, HttpMethod::head, "/page") == "page");
  CHECK(route(r, HttpMethod::head, "/both") == "head");
  CHECK(route(r, HttpMethod::get, "/both") == "get");
  CHECK(route(r, HttpMethod::post, "/api") == "api-post");
  CHECK(route(r, HttpMethod::get, "/api") == "api-any");
  CHECK(route(r, HttpMethod::other, "/api") == "api-any");
  CHECK(route(r, HttpMethod::other, "/page") == "405");
}

TEST_CASE("malformed patterns and duplicates are refused and leave the router unchanged") {
  Router r;
  CHECK_FALSE(r.add(HttpMethod::get, "", "x"));
  CHECK_FALSE(r.add(HttpMethod::get, "a/b", "x"));
  CHECK_FALSE(r.add(HttpMethod::get, "/a/:", "x"));
  CHECK_FALSE(r.add(HttpMethod::get, "/a/*/b", "x"));
  CHECK_FALSE(r.add(HttpMethod::get, "/:a/:b/:c/:d/:e/:f/:g/:h/:i", "x"));
  CHECK(r.add(HttpMethod::get, "/:a/:b/:c/:d/:e/:f/:g/:h", "eight"));
  CHECK(r.add(HttpMethod::get, "/x/:id", "first"));
  CHECK_FALSE(r.add(HttpMethod::get, "/x/:other", "second"));  // same shape, same method
  CHECK(r.add(HttpMethod::post, "/x/:other", "post"));
  CHECK(r.size() == 3);
  CHECK(route(r, HttpMethod::get, "/x/1") == "first");
  const auto m = r.match(HttpMethod::get, "/1/2/3/4/5/6/7/8");
  REQUIRE(m.status == RouteStatus::found);
  CHECK(m.params.get("h") == "8");
  CHECK(route(r, HttpMethod::get, "/1/2/3/4/5/6/7/8/9") == "404");
}

TEST_CASE("literal segments may contain ':' and '*' after their first byte") {
  Router r;
  REQUIRE(r.add(HttpMethod::get, "/a:b/c*", "literal"));
  CHECK(route(r, HttpMethod::get, "/a:b/c*") == "literal");
  CHECK(route(r, HttpMethod::get, "/a:b/cd") == "404");
}

TEST_CASE("a very deep path is matched without deep recursion") {
  Router r;
  REQUIRE(r.add(HttpMethod::get, "/a/*", "tail"));
  REQUIRE(r.add(HttpMethod::get, "/:x/:y", "two"));
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "/a";
  CHECK(route(r, HttpMethod::get, deep) == "tail");
  std::string deep_b;
  for (int i = 0; i < 100000; ++i) deep_b += "/b";
  CHECK(route(r, HttpMethod::get, deep_b) == "404");
}

TEST_CASE("handlers may be move-only") {
  HttpRouter<std::unique_ptr<int>> r;
  REQUIRE(r.add(HttpMethod::get, "/n", std::make_unique<int>(7)));
  const auto m = r.match(HttpMethod::get, "/n");
  REQUIRE(m.status == RouteStatus::found);
  CHECK(**m.handler == 7);
}

TEST_CASE("many routes: each path finds its own handler") {
  Router r;
  std::vector<std::string> paths;
  for (int i = 0; i < 300; ++i) {
    paths.push_back(std::string("/api/v") + std::to_string(i % 3) + "/res" + std::to_string(i));
    REQUIRE(r.add(HttpMethod::get, paths.back(), paths.back()));
  }
  for (const auto& p : paths) CHECK(route(r, HttpMethod::get, p) == p);
}
