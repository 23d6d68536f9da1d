# The order of wsd's header folders, written down once (docs/library.md links here), and the check
# that no header includes upward: a header may include wsd headers of its own folder and of the
# folders in the groups before its own, never of a later group or of another folder of its group.
# The umbrella headers are checked as members of the group they are named for.
#   cmake -DSOURCE=<repo> -P tests/layers/include_order.cmake
cmake_minimum_required(VERSION 3.21)
set(groups
  "core"                           # the standard library only
  "text sampling rules"            # the decoder's parts that know only the core
  "policies"                       # drafter, strong model, scorer
  "compose"                        # Config, make_decoder: the policies assembled
  "core.hpp"                       # the standard-library-only umbrella (target wsd::core)
  "json numeric batch"             # nlohmann_json, xtensor, many conversations in flight
  "io"                             # files in and out
  "wsd.hpp"                        # the umbrella without providers (target wsd::wsd)
  "serve"                          # wsd-server's protocol as library types
  "providers/llama providers/http" # the engines; neither knows the other nor the composition
  "pairs")                         # a decoder per conversation over a pair of providers

# Besides the order: an engine provides logits and tokens; it never assembles a decoder (the
# policies and their composition are the caller's; pairs/ joins the two).
set(never "providers/llama:compose" "providers/llama:policies" "providers/http:compose" "providers/http:policies")

set(root ${SOURCE}/include/wsd)
set(rank 0)
foreach(group IN LISTS groups)
  string(REPLACE " " ";" members "${group}")
  foreach(m IN LISTS members)
    set(rank_of_${m} ${rank})
  endforeach()
  math(EXPR rank "${rank} + 1")
endforeach()

# The folder a header belongs to: providers/llama, core, ..., or the umbrella's own name.
function(folder_of path out)
  file(RELATIVE_PATH rel ${root} ${path})
  if(rel MATCHES "^providers/([^/]+)/")
    set(${out} "providers/${CMAKE_MATCH_1}" PARENT_SCOPE)
  elseif(rel MATCHES "^([^/]+)/")
    set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  else()
    set(${out} "${rel}" PARENT_SCOPE)
  endif()
endfunction()

file(GLOB_RECURSE headers ${root}/*.hpp)
set(wrong "")
set(checked 0)
foreach(h IN LISTS headers)
  file(RELATIVE_PATH rel ${root} ${h})
  if(rel STREQUAL "version.hpp")
    continue()  # generated-free constant, included from anywhere
  endif()
  folder_of(${h} from)
  if(NOT DEFINED rank_of_${from})
    string(APPEND wrong "  ${rel}: its folder '${from}' is in no group of tests/layers/include_order.cmake\n")
    continue()
  endif()
  file(STRINGS ${h} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]wsd/")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[^<\"]*[<\"]wsd/([^>\"]+)[>\"].*$" "\\1" target "${line}")
    if(target STREQUAL "version.hpp")
      continue()
    endif()
    folder_of(${root}/${target} to)
    math(EXPR checked "${checked} + 1")
    if(to STREQUAL from)
      continue()
    endif()
    if(NOT DEFINED rank_of_${to})
      string(APPEND wrong "  ${rel} includes wsd/${target}: '${to}' is in no group\n")
    elseif(NOT rank_of_${to} LESS rank_of_${from})
      string(APPEND wrong "  ${rel} (${from}) includes wsd/${target} (${to}): not below it\n")
    elseif("${from}:${to}" IN_LIST never)
      string(APPEND wrong "  ${rel} (${from}) includes wsd/${target} (${to}): an engine does not assemble decoders\n")
    endif()
  endforeach()
endforeach()
if(wrong)
  message(FATAL_ERROR "includes that run upward or sideways (the order: tests/layers/include_order.cmake):\n${wrong}")
endif()
list(LENGTH headers n)
message("layers: ${n} headers, ${checked} includes of wsd headers, each of its own folder or one below")
