# wsd_consumer(<what> <source> <build> <prefix path> [configure args...]): configures (with
# CMAKE_PREFIX_PATH, a list kept whole), builds and runs a consumer project's `consumer` program,
# which must print "answer: "; fails naming <what> at the step that failed. Included by
# tests/install/run.cmake and tests/subdir/run.cmake.
function(wsd_consumer what source build prefix_path)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${source} -B ${build} "-DCMAKE_PREFIX_PATH=${prefix_path}" ${ARGN}
                  RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "configuring ${what} failed")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${build} RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "building ${what} failed")
  endif()
  execute_process(COMMAND ${build}/consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  message("${what}: ${out}")
  if(rc OR NOT out MATCHES "answer: ")
    message(FATAL_ERROR "${what} did not run")
  endif()
endfunction()
