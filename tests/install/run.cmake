# Installs wsd into a temporary prefix, builds the consumer project against it and runs it: once
# asking for the core alone with xtensor and nlohmann_json made unfindable (the core needs neither),
# once asking for everything.
include(${CMAKE_CURRENT_LIST_DIR}/../consumer.cmake)
set(prefix ${WORK}/prefix)
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${prefix} RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "install failed")
endif()
wsd_consumer("the consumer of the core alone" ${SOURCE}/tests/install ${WORK}/consumer-core-only
             "${prefix}" -DWSD_CORE_ONLY=ON
             -DCMAKE_DISABLE_FIND_PACKAGE_xtensor=ON -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON)
wsd_consumer("the consumer of every component" ${SOURCE}/tests/install ${WORK}/consumer-all
             "${prefix};${LLAMA_PREFIX}" -DWSD_EXPECT_LLAMA=${EXPECT_LLAMA})
