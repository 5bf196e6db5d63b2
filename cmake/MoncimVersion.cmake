# moncim --version prints the git commit it was built from: regenerated at every build.
set(MONCIM_VERSION_HEADER ${CMAKE_BINARY_DIR}/generated/moncim_version.h)
add_custom_target(moncim_version_header
  COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR} -DOUT=${MONCIM_VERSION_HEADER}
          -DPROJECT_VERSION=${PROJECT_VERSION} -P ${CMAKE_SOURCE_DIR}/cmake/GenVersion.cmake
  BYPRODUCTS ${MONCIM_VERSION_HEADER}
  COMMENT "moncim version header")
