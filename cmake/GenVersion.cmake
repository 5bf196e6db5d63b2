# Run at every build (cmake -P): writes OUT from version.h.in with the current git commit.
# configure_file only touches OUT when the text changes, so an unchanged commit rebuilds nothing.
execute_process(COMMAND git rev-parse --short=12 HEAD
                WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE MONCIM_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET RESULT_VARIABLE _git_rc)
if(NOT _git_rc EQUAL 0 OR MONCIM_GIT_COMMIT STREQUAL "")
  set(MONCIM_GIT_COMMIT "unknown")
else()
  execute_process(COMMAND git status --porcelain --untracked-files=no
                  WORKING_DIRECTORY ${SRC}
                  OUTPUT_VARIABLE _git_dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT _git_dirty STREQUAL "")
    set(MONCIM_GIT_COMMIT "${MONCIM_GIT_COMMIT}-dirty")
  endif()
endif()
configure_file(${SRC}/cmake/version.h.in ${OUT} @ONLY)
