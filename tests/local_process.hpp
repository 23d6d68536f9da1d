#pragma once
// Real servers for the tests: a child process (llama-cpp-python's OpenAI-compatible server, or
// Python's plain http.server) on a free port of 127.0.0.1, stopped when the object goes.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <wsd/providers/http/http_client.hpp>
#include <wsd/providers/llama/default_models.hpp>

extern char** environ;

namespace wsd::test {

// A port nothing listens on right now (the kernel's pick for port 0).
inline int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("no free port on 127.0.0.1");
  close(fd);
  return ntohs(a.sin_port);
}

class ChildProcess {
 public:
  // Runs argv with stdout and stderr to `log`.
  ChildProcess(std::vector<std::string> argv, std::string log) : log_(std::move(log)) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("could not start " + argv[0]);
  }
  ~ChildProcess() { stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) pid_ = 0;
    return pid_ > 0;
  }
  // SIGKILL (a crash) or SIGTERM (a clean stop), and waits for it.
  void stop(int signal = SIGTERM) {
    if (pid_ <= 0) return;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
  }
  std::string log_tail() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    const std::string all = s.str();
    return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
  }

 private:
  pid_t pid_ = 0;
  std::string log_;
};

// Waits until GET url answers (any HTTP status) or the process has died or `seconds` passed.
inline void wait_until_listening(ChildProcess& p, const std::string& url, double seconds = 180) {
  HttpClient client(url, {.timeout_s = 2, .retries = 0, .backoff_s = 0, .api_key = {}});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!p.running()) throw std::runtime_error("the server exited while starting:\n" + p.log_tail());
    try {
      client.get("");
      return;
    } catch (const wsd::ProviderError&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
  throw std::runtime_error("the server did not listen within " + std::to_string(seconds) + " s:\n" + p.log_tail());
}

// llama-cpp-python's OpenAI-compatible server for one GGUF on a free port, ready once constructed.
class LlamaServer {
 public:
  LlamaServer(const std::string& python, const std::string& model, const std::string& log,
              std::vector<std::string> extra = {}, int port = 0)
      : port_(port ? port : free_port()), process_(args(python, model, port_, std::move(extra)), log) {
    wait_until_listening(process_, url() + "/models");
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int port() const { return port_; }
  ChildProcess& process() { return process_; }

 private:
  static std::vector<std::string> args(const std::string& python, const std::string& model, int port,
                                       std::vector<std::string> extra) {
    std::vector<std::string> a = {
        python,      "-m",     "llama_cpp.server",   "--model", model,  "--host",
        "127.0.0.1", "--port", std::to_string(port), "--n_ctx", "1024", "--interrupt_requests",
        "false"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  int port_;
  ChildProcess process_;
};

#if defined(WSD_LLAMA_VENV) && defined(WSD_TEST_WORK)
// The server tests' setting: llama-cpp-python from the project's venv, logs in the test's folder.
inline const std::string kPython = WSD_LLAMA_VENV "/bin/python";
inline std::string log_path(const std::string& name) {
  std::filesystem::create_directories(WSD_TEST_WORK);
  return std::string(WSD_TEST_WORK) + "/" + name + ".log";
}
// Gemma on the server, one token per physical batch: its scores do not depend on what it batched
// (batch-invariant: see README).
inline LlamaServer gemma_server(const std::string& name, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--n_batch", "1", "--n_ubatch", "1", "--flash_attn", "true"};
  args.insert(args.end(), extra.begin(), extra.end());
  return LlamaServer(kPython, default_strong_model(), log_path(name), args);
}
#endif

}  // namespace wsd::test
