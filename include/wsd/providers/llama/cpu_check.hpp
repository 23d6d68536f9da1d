#pragma once
// Whether this CPU can run the llama.cpp build wsd links: the instruction sets the build was
// compiled for (a clear error instead of SIGILL), and AMX proven by running a tile instruction in
// a child process (a CPU may advertise AMX, and the kernel grant it, and still fault on it).
#include <ggml-cpu.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "wsd/core/errors.hpp"

namespace wsd {

// Throws ModelError naming what the llama.cpp build needs and this CPU lacks.
inline void check_llama_cpu() {
#if defined(__x86_64__) || defined(__i386__)
  std::string missing;
  auto need = [&](int built, bool has, const char* name) {
    if (built && !has) missing += missing.empty() ? name : std::string(", ") + name;
  };
  __builtin_cpu_init();
  need(ggml_cpu_has_avx(), __builtin_cpu_supports("avx"), "AVX");
  need(ggml_cpu_has_avx2(), __builtin_cpu_supports("avx2"), "AVX2");
  need(ggml_cpu_has_fma(), __builtin_cpu_supports("fma"), "FMA");
  need(ggml_cpu_has_f16c(), __builtin_cpu_supports("f16c"), "F16C");
  need(ggml_cpu_has_avx512(), __builtin_cpu_supports("avx512f"), "AVX-512");
  if (!missing.empty())
    throw ModelError("this build of llama.cpp needs " + missing +
                     ", which this CPU lacks; rebuild it on this machine with `WSD_LLAMA_NATIVE=1 make llama`");
#endif
}

// True when AMX tiles work here: a child process asks the kernel for tile state, loads a tile
// configuration and zeroes a tile; a fault kills only the child. Cached after the first call.
inline bool amx_works() {
#if defined(__x86_64__)
  static const bool works = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(7), "c"(0));
    if (!(edx & (1u << 24))) return false;  // CPUID.(EAX=7,ECX=0):EDX[24] AMX-TILE
    const pid_t child = fork();
    if (child < 0) return false;
    if (child == 0) {
      constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
      if (syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) != 0) _exit(2);
      alignas(64) unsigned char config[64] = {};
      config[0] = 1;                   // palette 1
      config[16] = 64;                 // tile 0: 64 bytes a row
      config[48] = 16;                 // tile 0: 16 rows
      __asm__ volatile(".byte 0xc4, 0xe2, 0x78, 0x49, 0x07" ::"D"(config) : "memory");  // ldtilecfg [rdi]
      __asm__ volatile(".byte 0xc4, 0xe2, 0x7b, 0x49, 0xc0" ::: "memory");              // tilezero tmm0
      __asm__ volatile(".byte 0xc4, 0xe2, 0x78, 0x49, 0xc0" ::: "memory");              // tilerelease
      _exit(0);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0)
      if (errno != EINTR) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }();
  return works;
#else
  return false;
#endif
}

// Whether llama.cpp may use AMX here: only when the build has AMX kernels and the probe proved them.
inline bool llama_amx_usable() { return ggml_cpu_has_amx_int8() && amx_works(); }

}  // namespace wsd
