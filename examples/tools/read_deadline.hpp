#pragma once
// wsd-server's read deadline: a client must send each request (its line, headers and body) within
// `limit` of the request's start (the connection's accept, or the end of its previous answer); one
// that does not, such as a slowloris client trickling a header a second, is answered 408 and its
// connection closed. cpp-httplib bounds each read (5 s) but not a whole request and calls nothing
// while it reads one, so a watchdog thread looks at the server's connections once a second (Linux:
// /proc/self/fd; elsewhere it does nothing), and the server tells it, by the client's address and
// port, when a request's handler began (no deadline while it answers) and when its answer ended.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace wsd::tools {

class ReadDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  // Watches the connections to local port `port`; `answer_408` is the response written to a client
  // that ran out of time (before its connection is shut), `on_timeout` counts it.
  ReadDeadline(int port, std::chrono::duration<double> limit, std::string answer_408, std::function<void()> on_timeout)
      : port_(port), limit_(std::chrono::duration_cast<Clock::duration>(limit)), answer_(std::move(answer_408)),
        on_timeout_(std::move(on_timeout)), watchdog_([this](std::stop_token stop) { watch(stop); }) {}
  ReadDeadline(const ReadDeadline&) = delete;
  ReadDeadline& operator=(const ReadDeadline&) = delete;

  // The request from this client was read: its handler runs, with no deadline until answered(),
  // however long the answer takes.
  void handling(const std::string& addr, int port) { set(addr, port, true); }
  // Its answer was written: the next request on the connection has `limit` from now.
  void answered(const std::string& addr, int port) { set(addr, port, false); }
  // Whether this client's connection was shut for being late (httplib then fails its request).
  bool expired(const std::string& addr, int port) {
    std::lock_guard lock(mutex_);
    const auto it = connections_.find(key(addr, port));
    return it != connections_.end() && it->second.closed;
  }

 private:
  struct Connection {
    Clock::time_point deadline;
    bool handling = false, closed = false;
  };
  static std::string key(const std::string& addr, int port) { return addr + "|" + std::to_string(port); }

  void set(const std::string& addr, int port, bool handling) {
    std::lock_guard lock(mutex_);
    Connection& c = connections_[key(addr, port)];
    c.handling = handling;
    c.deadline = Clock::now() + limit_;
  }

  void watch(std::stop_token stop) {
    std::unique_lock lock(mutex_);
    while (!stop.stop_requested()) {  // a scan a second; the jthread's stop wakes it at once
      if (!wake_.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; })) scan();
    }
  }

  // The mutex held: each connection of the port seen, the late ones answered 408 and shut, the
  // entries of connections gone forgotten. A peer is checked just before its socket is shut, so a
  // descriptor closed and reused by then is left alone.
  void scan() {
#ifdef __linux__
    const auto now = Clock::now();
    std::set<std::string> live;
    DIR* dir = opendir("/proc/self/fd");
    if (!dir) return;
    while (const dirent* e = readdir(dir)) {
      const int fd = std::atoi(e->d_name);
      if (e->d_name[0] == '.' || fd == dirfd(dir)) continue;
      const std::string peer = peer_of(fd);
      if (peer.empty()) continue;
      live.insert(peer);
      auto [it, fresh] = connections_.try_emplace(peer, Connection{now + limit_});
      Connection& c = it->second;
      if (c.handling || c.closed || now < c.deadline) continue;
      c.closed = true;
      if (peer_of(fd) != peer) continue;
      (void)!::send(fd, answer_.data(), answer_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::shutdown(fd, SHUT_RDWR);
      on_timeout_();
    }
    closedir(dir);
    std::erase_if(connections_, [&](const auto& kv) { return !live.contains(kv.first); });
#endif
  }

  // "addr|port" of the client on socket fd when it is a connection accepted on our port, else "".
  std::string peer_of(int fd) const {
    sockaddr_storage local{}, remote{};
    socklen_t n = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &n) != 0) return {};
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening) return {};
    n = sizeof(remote);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &n) != 0) return {};
    char text[INET6_ADDRSTRLEN] = {};
    if (local.ss_family == AF_INET) {
      const auto& l = reinterpret_cast<const sockaddr_in&>(local);
      const auto& r = reinterpret_cast<const sockaddr_in&>(remote);
      if (ntohs(l.sin_port) != port_ || !inet_ntop(AF_INET, &r.sin_addr, text, sizeof(text))) return {};
      return key(text, ntohs(r.sin_port));
    }
    if (local.ss_family == AF_INET6) {
      const auto& l = reinterpret_cast<const sockaddr_in6&>(local);
      const auto& r = reinterpret_cast<const sockaddr_in6&>(remote);
      if (ntohs(l.sin6_port) != port_ || !inet_ntop(AF_INET6, &r.sin6_addr, text, sizeof(text))) return {};
      return key(text, ntohs(r.sin6_port));
    }
    return {};
  }

  const int port_;
  const Clock::duration limit_;
  const std::string answer_;
  const std::function<void()> on_timeout_;
  std::mutex mutex_;
  std::condition_variable_any wake_;  // waited on with the watchdog's stop token
  std::map<std::string, Connection> connections_;  // by the client's "addr|port"
  std::jthread watchdog_;                           // last: started once the rest is built
};

}  // namespace wsd::tools
