# Every external dependency of moncim, found once here so that modules only link targets.
find_package(OpenMP REQUIRED COMPONENTS C)
find_package(MPI REQUIRED COMPONENTS C)
find_package(PkgConfig REQUIRED)

# HDF5 must be the parallel (MPI-IO) build: sweeps may write from several ranks.
set(HDF5_PREFER_PARALLEL TRUE)
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
  message(FATAL_ERROR "moncim needs the parallel HDF5 build (Debian: libhdf5-openmpi-dev); "
                      "found a serial one at ${HDF5_C_INCLUDE_DIRS}")
endif()
add_library(moncim_hdf5 INTERFACE)
target_include_directories(moncim_hdf5 INTERFACE ${HDF5_C_INCLUDE_DIRS})
target_link_libraries(moncim_hdf5 INTERFACE ${HDF5_C_LIBRARIES} MPI::MPI_C)
target_compile_definitions(moncim_hdf5 INTERFACE ${HDF5_C_DEFINITIONS})

pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
pkg_check_modules(LAPACKE REQUIRED IMPORTED_TARGET lapacke)
pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(CRITERION REQUIRED IMPORTED_TARGET criterion)

find_program(MPIEXEC_BIN NAMES mpiexec mpirun REQUIRED)
find_package(Python3 COMPONENTS Interpreter)
