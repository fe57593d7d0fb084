#pragma once
// ChatRoomMembers: chat tabs (ChatConnection) in one durable room of a FaultCluster, on every node,
// some of them publishing steadily, all driven by one loop on the test's thread (pump). A tab whose
// connection drops logs in again and reconnects — to its node while it runs, else to the next one
// that does — from the last position it has (GET /ws?otp&room&epoch&seq), as the chat page does.
//
// What each tab sees is checked as it comes: the room's messages numbered one after another (a
// reconnect that recovered goes on from the tab's last number), none twice, and the same message at
// the same (epoch, seq) on every tab; a `recovered: false` (at a reconnect, or later) is counted and
// the tab goes on from what it was told. A publish is acknowledged once its publisher gets it back;
// one the server answers with not_sent is counted as refused (maybe: true, as perhaps sent, until it
// comes), one whose connection went before either is counted as unconfirmed: none is assumed
// delivered, and one without any answer on a connection still open is counted as unanswered. At the end
// (outcome) every tab that was never told `recovered: false` must have every message of the room from
// where it joined to the end, so a message some tab got and another missed without being told fails.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/chat_connection.hpp"
#include "tests/support/fault_cluster.hpp"

namespace ringcast::test {

class ChatRoomMembers {
 public:
  using Clock = std::chrono::steady_clock;

  struct Member {
    std::string user;
    int first_node = 0;
    int node = 0;  // the chat node it is connected to (or reconnecting to)
    bool publisher = false;
    std::unique_ptr<ChatConnection> conn;  // null while reconnecting
    bool resuming = false;                 // reconnected from a position, its room_changed not in yet
    uint64_t epoch = 0;
    uint64_t seq = 0;  // the last message it has (of `epoch`)
    // Outcome.
    uint64_t received = 0;
    uint64_t breaks = 0;  // told `recovered: false`
    uint64_t duplicates = 0;
    std::vector<std::string> errors;  // out of order, a gap, a reconnect that did not go on from its position
    std::set<std::string> texts;
    uint64_t reconnects = 0;
    std::optional<Clock::time_point> lost_at;     // its connection dropped, not back yet
    std::optional<Clock::time_point> resumed_at;  // the latest reconnect's room_changed
    std::vector<std::pair<Clock::time_point, int>> closes;  // when its connections closed, and the code (1006: no Close frame)
    // Publishing.
    uint64_t sent = 0;
    uint64_t acknowledged = 0;
    std::set<std::string> pending;      // sent on this connection, not back yet
    std::set<std::string> unconfirmed;  // sent on a connection that went before they came back
    uint64_t not_sent = 0;              // the server said the room's log did not take it
    std::set<std::string> maybe_sent;   // the server said the log's answer was lost
    std::set<std::string> before_break; // not back when it was told recovered: false
    Clock::time_point next_send{};
  };

  struct Presence {
    std::string user;
    bool joined = false;
    Clock::time_point at;
  };

  ChatRoomMembers(FaultCluster& cluster, std::string room) : cluster_(cluster), room_(std::move(room)) {}

  // A tab of `user` on chat node `node`, joined to the room (blocks until its room_changed).
  Member& add(const std::string& user, int node, bool publisher) {
    auto m = std::make_unique<Member>();
    m->user = user;
    m->node = m->first_node = node;
    m->publisher = publisher;
    REQUIRE_MESSAGE(connect(*m, false), "tab of ", user, " could not join on node ", node);
    while (m->conn && !m->conn->closed() && m->resuming) poll(*m, std::chrono::seconds(10));
    members_.push_back(std::move(m));
    return *members_.back();
  }
  std::vector<std::unique_ptr<Member>>& members() { return members_; }

  // Publishers send `per_second` messages each from now on (0: they stop).
  void publish_rate(double per_second) {
    interval_ = per_second > 0 ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / per_second))
                               : Clock::duration::zero();
    for (auto& m : members_) m->next_send = Clock::now();
  }

  // Something more to do in every round of pump (other clients of the test, say).
  void on_round(std::function<void()> f) { on_round_ = std::move(f); }

  // Drives every tab for `d`: reads what came, publishes on schedule, reconnects what dropped.
  void pump(std::chrono::milliseconds d) {
    pump_until([] { return false; }, d);
  }
  // The same until `done()` holds (checked between rounds) or `limit`; returns done().
  template <typename Done>
  bool pump_until(Done done, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      for (auto& m : members_) step(*m);
      if (on_round_) on_round_();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  // Stops publishing and pumps until every tab is connected and has every message the room has (the
  // highest number any tab saw in the latest epoch), for at most `limit`, and then until no publish on
  // a connection still open waits for its copy, for at most a second more. False when the tabs did
  // not all reach the end.
  bool settle(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    publish_rate(0);
    const bool at_end = pump_until(
        [&] {
          const auto [epoch, end] = room_end();
          for (auto& m : members_) {
            if (!m->conn || m->resuming || m->epoch != epoch || m->seq != end) return false;
          }
          return true;
        },
        limit);
    pump_until(
        [&] {
          for (auto& m : members_) {
            if (!m->pending.empty()) return false;
          }
          return true;
        },
        std::chrono::seconds(2));
    return at_end;
  }

  // The latest epoch any tab saw (epochs are names, not in order: the one that came last), and the
  // highest number in it.
  std::pair<uint64_t, uint64_t> room_end() const {
    if (epochs_.empty()) return {0, 0};
    const uint64_t epoch = epochs_.back();
    uint64_t end = 0;
    for (const auto& m : members_) {
      if (m->epoch == epoch) end = std::max(end, m->seq);
    }
    for (auto it = log_.lower_bound({epoch, 0}); it != log_.end() && it->first.first == epoch; ++it) {
      end = std::max(end, it->first.second);
    }
    return {epoch, end};
  }

  // Tabs told `recovered: false` at least once.
  size_t told_not_recovered() const {
    return static_cast<size_t>(std::count_if(members_.begin(), members_.end(), [](const auto& m) { return m->breaks > 0; }));
  }

  const std::vector<Presence>& presence() const { return presence_; }
  const std::vector<std::string>& conflicts() const { return conflicts_; }
  uint64_t deliveries() const { return deliveries_; }
  // When the first message published at or after `t` reached a tab (nullopt: none yet).
  std::optional<Clock::time_point> first_delivery_of_message_sent_after(Clock::time_point t) const {
    std::optional<Clock::time_point> first;
    for (const auto& [text, d] : deliveries_at_) {
      if (d.sent >= t && (!first || d.first < *first)) first = d.first;
    }
    return first;
  }
  // The longest stretch without a delivery to any tab, between `from` and `to`.
  Clock::duration longest_silence(Clock::time_point from, Clock::time_point to) const {
    std::vector<Clock::time_point> times = {from, to};
    for (Clock::time_point t : delivery_times_) {
      if (t > from && t < to) times.push_back(t);
    }
    std::sort(times.begin(), times.end());
    Clock::duration longest{};
    for (size_t i = 1; i < times.size(); ++i) longest = std::max(longest, times[i] - times[i - 1]);
    return longest;
  }

  // What the tabs saw, checked (doctest CHECKs) and printed under `title`: per tab whether it got
  // everything (recovered) or was told it could not (`recovered: false`), and the publishes
  // acknowledged and unconfirmed. Call after settle().
  void check_outcome(const std::string& title) {
    const std::pair<uint64_t, uint64_t> room = room_end();
    const uint64_t epoch = room.first, end = room.second;  // named, for the checks' messages (lambdas)
    uint64_t complete = 0, told = 0, sent = 0, acknowledged = 0, refused = 0, maybe = 0, unconfirmed = 0, unanswered = 0,
             broken = 0;
    std::string lines;
    for (auto& m : members_) {
      sent += m->sent;
      acknowledged += m->acknowledged;
      refused += m->not_sent;
      maybe += m->maybe_sent.size();
      unconfirmed += m->unconfirmed.size();
      unanswered += m->pending.size();
      broken += m->before_break.size();
      if (m->breaks > 0) {
        ++told;
      } else {
        ++complete;
        CHECK_MESSAGE(m->epoch == epoch, m->user, "@", m->node, " ended in epoch ", m->epoch, ", the room in ", epoch);
        CHECK_MESSAGE(m->seq == end, m->user, "@", m->node, " ended at ", m->seq, ", the room at ", end);
      }
      CHECK_MESSAGE(m->errors.empty(), m->user, "@", m->node, ": ", fmt::format("{}", fmt::join(m->errors, "; ")));
      // A tab told `recovered: false` gets the latest messages again, some of which it may have had.
      if (m->breaks == 0) CHECK_MESSAGE(m->duplicates == 0, m->user, "@", m->node, " got ", m->duplicates, " messages twice");
      lines += fmt::format("  {}@node{}{}: {} messages, {} reconnects, told recovered:false {} times, published {} "
                           "(acknowledged {}, not_sent {}, maybe {}, before a break {}, unconfirmed {}, unanswered {})\n",
                           m->user, m->first_node, m->node != m->first_node ? fmt::format(" (now node{})", m->node) : "",
                           m->received, m->reconnects, m->breaks, m->sent, m->acknowledged, m->not_sent,
                           m->maybe_sent.size(), m->before_break.size(), m->unconfirmed.size(), m->pending.size());
    }
    CHECK_MESSAGE(conflicts_.empty(), fmt::format("{}", fmt::join(conflicts_, "; ")));
    MESSAGE(fmt::format("{} [{}]: room at epoch {} seq {}; tabs with every message (recovered) {}, told recovered:false "
                        "{}; publishes {}: acknowledged (the publisher got its copy) {}, not_sent {}, not_sent maybe {}, "
                        "not back when its publisher was told recovered:false {}, unconfirmed (connection lost before "
                        "an answer) {}, unanswered (no answer on an open connection) {}\n{}",
                        title, backend_name(), epoch, end, complete, told, sent, acknowledged, refused, maybe, broken,
                        unconfirmed, unanswered, lines));
    CHECK_MESSAGE(unanswered == 0, "publishes neither delivered nor refused: lost silently");
  }

  // Drops tab i (as a tab closed) without reconnecting it.
  void drop(size_t i) { members_.erase(members_.begin() + static_cast<std::ptrdiff_t>(i)); }

 private:
  struct Delivery {
    Clock::time_point sent;
    Clock::time_point first;
  };

  void step(Member& m) {
    if (m.conn && m.conn->closed()) {
      m.closes.emplace_back(Clock::now(), m.conn->close_code());
      m.conn.reset();
      m.unconfirmed.merge(m.pending);
      m.pending.clear();
      m.lost_at = Clock::now();
      m.resuming = false;
    }
    if (!m.conn) {
      if (Clock::now() >= retry_at_[&m]) {
        if (!connect(m, true)) retry_at_[&m] = Clock::now() + std::chrono::milliseconds(100);
      }
      return;
    }
    poll(m, std::chrono::milliseconds(0));
    if (m.publisher && interval_ != Clock::duration::zero() && m.conn && !m.resuming && Clock::now() >= m.next_send) {
      const std::string text = fmt::format("{}-{}", m.user, ++m.sent);
      m.pending.insert(text);
      sent_at_[text] = Clock::now();
      m.conn->send_message(text);
      m.next_send += interval_;
      if (m.next_send < Clock::now()) m.next_send = Clock::now() + interval_;  // no burst after a pause
    }
  }

  // Opens a tab for m: on its node while that runs, else on the next that does; from its position
  // when `resume`. False when the login or the upgrade was refused (it is tried again later).
  bool connect(Member& m, bool resume) {
    for (int i = 0; i < FaultCluster::kChatNodes && !cluster_.chat_running(m.node); ++i) {
      m.node = (m.node + 1) % FaultCluster::kChatNodes;
    }
    const std::string& address = cluster_.address(m.node);
    const HttpReply login = post_login(address, FaultCluster::kChatPort,
                                       fmt::format(R"({{"username":"{}","password":"pw-{}"}})", m.user, m.user));
    if (login.status != 200) return false;
    ChatJson token(login.body);
    if (!token.ok()) return false;
    std::string target = fmt::format("/ws?otp={}&room={}", ChatJson::str(token.root()["otp"]), room_);
    if (resume && m.epoch > 0) target += fmt::format("&epoch={}&seq={}", m.epoch, m.seq);
    auto conn = std::make_unique<ChatConnection>(address, FaultCluster::kChatPort, target);
    if (conn->status() != 101) return false;
    m.conn = std::move(conn);
    m.resuming = true;
    asked_position_[&m] = resume && m.epoch > 0;
    if (resume) ++m.reconnects;
    return true;
  }

  // Reads what has come for m (waiting up to `wait` for the first message).
  void poll(Member& m, std::chrono::milliseconds wait) {
    for (std::optional<std::string> text = m.conn->next(wait); text; text = m.conn->next(std::chrono::milliseconds(0))) {
      ChatJson j(std::move(*text));
      if (!j.ok()) {
        m.errors.push_back("not JSON");
        continue;
      }
      const std::string type = j.type();
      if (type == "room_changed") {
        on_room_changed(m, j);
      } else if (type == "new_message") {
        on_message(m, j);
      } else if (type == "presence") {
        const std::string joined = j.get("joined"), left = j.get("left");
        presence_.push_back({joined != "<absent>" ? joined : left, joined != "<absent>", Clock::now()});
      } else if (type == "not_sent") {
        const std::string sent_text = j.get("message");
        if (m.pending.erase(sent_text) > 0 || m.before_break.erase(sent_text) > 0) {
          if (j.flag("maybe")) {
            m.maybe_sent.insert(sent_text);
          } else {
            ++m.not_sent;
          }
        } else {
          m.errors.push_back("not_sent for a message it was not waiting for: " + sent_text);
        }
      } else if (type == "error") {
        m.errors.push_back("error from the server: " + j.get("message"));
      }
      wait = std::chrono::milliseconds(0);
    }
  }

  void on_room_changed(Member& m, const ChatJson& j) {
    if (j.get("name") != room_) return;
    const uint64_t epoch = j.number("epoch"), seq = j.number("seq"), replayed = j.number("replayed");
    const bool recovered = j.flag("recovered");
    const bool from_position = m.resuming && asked_position_[&m];
    if (m.resuming) {
      m.resuming = false;
      if (m.lost_at) {
        m.resumed_at = Clock::now();
        m.lost_at.reset();
      }
    }
    if (from_position && recovered) {
      // It goes on from where it was: the replayed messages are the ones after its last.
      if (epoch != m.epoch || seq - replayed != m.seq) {
        m.errors.push_back(fmt::format("recovered from {}:{} but the room says {}:{} with {} replayed", m.epoch, m.seq,
                                       epoch, seq, replayed));
      }
    } else if (from_position || (m.epoch != 0 && !recovered)) {
      // Told recovered: false (at a reconnect, or later: the log lost messages). What it published and
      // has not had back may be among what was lost: it was told.
      ++m.breaks;
      m.before_break.merge(m.pending);
      m.pending.clear();
    }
    if (std::find(epochs_.begin(), epochs_.end(), epoch) == epochs_.end()) epochs_.push_back(epoch);
    m.epoch = epoch;
    m.seq = seq - replayed;
  }

  void on_message(Member& m, const ChatJson& j) {
    if (j.get("room") != room_) return;
    const uint64_t seq = j.seq();
    const std::string text = j.get("message");
    const Clock::time_point now = Clock::now();
    if (seq != m.seq + 1) m.errors.push_back(fmt::format("after {} came {} (epoch {})", m.seq, seq, m.epoch));
    m.seq = seq;
    ++m.received;
    ++deliveries_;
    delivery_times_.push_back(now);
    if (!m.texts.insert(text).second) ++m.duplicates;
    const auto [at, fresh] = log_.emplace(std::make_pair(m.epoch, seq), text);
    if (!fresh && at->second != text) {
      conflicts_.push_back(fmt::format("{}:{} is '{}' for one tab and '{}' for {}@{}", m.epoch, seq, at->second, text,
                                       m.user, m.node));
    }
    if (const auto s = sent_at_.find(text); s != sent_at_.end()) deliveries_at_.try_emplace(text, Delivery{s->second, now});
    if (m.pending.erase(text) > 0 || m.unconfirmed.erase(text) > 0 || m.maybe_sent.erase(text) > 0 ||
        m.before_break.erase(text) > 0) {
      ++m.acknowledged;
    }
  }

  FaultCluster& cluster_;
  std::string room_;
  std::vector<std::unique_ptr<Member>> members_;
  std::map<const Member*, Clock::time_point> retry_at_;
  std::map<const Member*, bool> asked_position_;
  Clock::duration interval_{};
  std::map<std::pair<uint64_t, uint64_t>, std::string> log_;  // (epoch, seq) → message, as the tabs saw it
  std::vector<uint64_t> epochs_;                               // in the order they came
  std::vector<std::string> conflicts_;
  std::map<std::string, Clock::time_point> sent_at_;
  std::map<std::string, Delivery> deliveries_at_;
  std::vector<Clock::time_point> delivery_times_;
  std::vector<Presence> presence_;
  uint64_t deliveries_ = 0;
  std::function<void()> on_round_;
};

}  // namespace ringcast::test
