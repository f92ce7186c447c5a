# Installs the build tree into a scratch prefix, then configures, builds and
# runs tests/consumer against it, as a downstream user would.
set(prefix ${TERN_WORK_DIR}/prefix)
file(REMOVE_RECURSE ${TERN_WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()
run(${CMAKE_COMMAND} --install ${TERN_BUILD_DIR} --prefix ${prefix} --component Unspecified)
run(${CMAKE_COMMAND} -S ${TERN_CONSUMER_SRC} -B ${TERN_WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${TERN_WORK_DIR}/build)
run(${TERN_WORK_DIR}/build/consumer)
