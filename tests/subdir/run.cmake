# Configures, builds and runs tests/subdir (wsd added with add_subdirectory, its own tests off).
include(${CMAKE_CURRENT_LIST_DIR}/../consumer.cmake)
file(REMOVE_RECURSE ${WORK})
wsd_consumer("the subdirectory consumer" ${SOURCE}/tests/subdir ${WORK} "" -DWSD_SOURCE=${SOURCE} -DWSD_WITH_LLAMA=OFF)
