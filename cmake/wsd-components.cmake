# wsd's optional targets, defined once: included by the build (CMakeLists.txt) and, installed next
# to it, by the package's wsdConfig.cmake. wsd_add_component(<name>) defines wsd::<name> where its
# dependencies are found and sets wsd_<name>_FOUND:
#   llama    the llama.cpp provider (llama.cpp's CMake package, found through CMAKE_PREFIX_PATH)
#   http     the strong model on an OpenAI-compatible server (libcurl)
#   formats  the benchmarks' own files (TruthfulQA's CSV through libcsv)
# Each needs wsd::wsd. In the build the targets are wsd_<name> with an alias; in a consumer of the
# installed package (WSD_IMPORTED_COMPONENTS set) they are imported targets.

# llama.cpp's CMake package lives in <prefix>/lib/cmake/llama; cmake/setup-llama.sh's prefix is
# <venv>/lib/python3.X/site-packages. Sets <prefix_out> and <venv_out> ("" for another install).
function(wsd_llama_paths prefix_out venv_out)
  get_filename_component(prefix "${llama_DIR}/../../.." ABSOLUTE)
  set(venv "")
  if(prefix MATCHES "^(.*)/lib/python[0-9.]+/site-packages$")
    set(venv "${CMAKE_MATCH_1}")
  endif()
  set(${prefix_out} "${prefix}" PARENT_SCOPE)
  set(${venv_out} "${venv}" PARENT_SCOPE)
endfunction()

# A new interface target for component <name>; <out> is the name to configure it by.
function(_wsd_component_target name out)
  if(WSD_IMPORTED_COMPONENTS)
    add_library(wsd::${name} INTERFACE IMPORTED)
    set(${out} wsd::${name} PARENT_SCOPE)
  else()
    add_library(wsd_${name} INTERFACE)
    add_library(wsd::${name} ALIAS wsd_${name})
    set(${out} wsd_${name} PARENT_SCOPE)
  endif()
endfunction()

macro(wsd_add_component name)
  if(TARGET wsd::${name})
    set(wsd_${name}_FOUND TRUE)
  elseif("${name}" STREQUAL "llama")
    _wsd_add_llama()
  elseif("${name}" STREQUAL "http")
    find_package(CURL QUIET)
    set(wsd_http_FOUND ${CURL_FOUND})
    if(CURL_FOUND)
      _wsd_component_target(http _wsd_t)
      target_link_libraries(${_wsd_t} INTERFACE wsd::wsd CURL::libcurl)
    endif()
  elseif("${name}" STREQUAL "formats")
    find_path(WSD_CSV_INCLUDE csv.h)
    find_library(WSD_CSV_LIBRARY csv)
    set(wsd_formats_FOUND FALSE)
    if(WSD_CSV_INCLUDE AND WSD_CSV_LIBRARY)
      set(wsd_formats_FOUND TRUE)
      _wsd_component_target(formats _wsd_t)
      target_include_directories(${_wsd_t} INTERFACE ${WSD_CSV_INCLUDE})
      target_link_libraries(${_wsd_t} INTERFACE wsd::wsd ${WSD_CSV_LIBRARY})
    endif()
  else()
    set(wsd_${name}_FOUND FALSE)
  endif()
endmacro()

# Sets WSD_LLAMA_PREFIX, WSD_LLAMA_VENV and WSD_LLAMA_BUILD_INFO (the flags setup-llama.sh built
# llama.cpp with) where llama.cpp is found.
macro(_wsd_add_llama)
  find_package(llama CONFIG QUIET)
  set(wsd_llama_FOUND ${llama_FOUND})
  if(llama_FOUND)
    _wsd_component_target(llama _wsd_t)
    target_link_libraries(${_wsd_t} INTERFACE wsd::wsd llama)
    if(TARGET ggml::ggml-cpu)  # the CPU checks ask the build which instruction sets it was compiled for
      target_link_libraries(${_wsd_t} INTERFACE ggml::ggml-cpu)
    endif()
    wsd_llama_paths(WSD_LLAMA_PREFIX WSD_LLAMA_VENV)
    set(WSD_LLAMA_BUILD_INFO "unknown (not built by cmake/setup-llama.sh)")
    if(EXISTS "${WSD_LLAMA_VENV}/wsd-llama-build.txt")
      file(STRINGS "${WSD_LLAMA_VENV}/wsd-llama-build.txt" WSD_LLAMA_BUILD_INFO LIMIT_COUNT 1)
    endif()
    # A CUDA build links where no NVIDIA driver is installed (a build machine): libcuda.so.1, which
    # ggml-cuda needs, is then resolved when the program runs on a machine that has one.
    set(WSD_LLAMA_WITHOUT_DRIVER FALSE)
    if(WSD_LLAMA_BUILD_INFO MATCHES " cuda ")
      find_library(WSD_LIBCUDA NAMES libcuda.so.1 cuda)
      if(NOT WSD_LIBCUDA)
        set(WSD_LLAMA_WITHOUT_DRIVER TRUE)
        target_link_options(${_wsd_t} INTERFACE -Wl,--allow-shlib-undefined)
      endif()
    endif()
  endif()
endmacro()
