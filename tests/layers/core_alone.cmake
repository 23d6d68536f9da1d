# <wsd/core.hpp> compiles on its own with the standard library only: the headers it pulls in
# (-H) include none of a layer above it (JSON, numeric, providers, HTTP).
set(source ${WORK}/core_alone.cpp)
file(WRITE ${source} "#include <wsd/core.hpp>\nint main() { return 0; }\n")
execute_process(COMMAND ${CXX} -std=c++20 -I${SOURCE}/include -H -fsyntax-only ${source}
                RESULT_VARIABLE rc ERROR_VARIABLE headers)
if(rc)
  message(FATAL_ERROR "wsd/core.hpp does not compile on its own:\n${headers}")
endif()
string(REGEX MATCHALL "[^\n]*(nlohmann|xtensor|xtl/|[Ee]igen|curl|llama|httplib|immintrin)[^\n]*" leaks "${headers}")
if(leaks)
  message(FATAL_ERROR "wsd/core.hpp pulls in headers of a layer above it:\n${leaks}")
endif()
string(REGEX MATCHALL "wsd/[a-z_/]+\\.hpp" own "${headers}")
list(REMOVE_DUPLICATES own)
list(LENGTH own n)
message("wsd/core.hpp: ${n} of wsd's headers, none above the core")
