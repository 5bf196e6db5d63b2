# Every external dependency of moncim, found once here so that modules only link targets.
find_package(OpenMP REQUIRED COMPONENTS C)
find_package(MPI REQUIRED COMPONENTS C)
find_package(PkgConfig REQUIRED)

# HDF5: moncim uses serial features only. Rank 0 is the single writer and opens files with the
# default POSIX driver (results/SCHEMA.md, "Why a single writer"), so no MPI-IO is needed. The
# project's stack installs Debian's MPI build (libhdf5-openmpi-dev, scripts/setup.sh), next to
# Open MPI; it is preferred so that the build links the library that stack ships, and a serial
# HDF5 works as well.
set(HDF5_PREFER_PARALLEL TRUE)
find_package(HDF5 REQUIRED COMPONENTS C)
add_library(moncim_hdf5 INTERFACE)
target_include_directories(moncim_hdf5 INTERFACE ${HDF5_C_INCLUDE_DIRS})
target_link_libraries(moncim_hdf5 INTERFACE ${HDF5_C_LIBRARIES})
if(HDF5_IS_PARALLEL)
  # the MPI build's headers include mpi.h
  target_link_libraries(moncim_hdf5 INTERFACE MPI::MPI_C)
endif()
target_compile_definitions(moncim_hdf5 INTERFACE ${HDF5_C_DEFINITIONS})

pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
pkg_check_modules(LAPACKE REQUIRED IMPORTED_TARGET lapacke)
pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(CRITERION REQUIRED IMPORTED_TARGET criterion)

find_program(MPIEXEC_BIN NAMES mpiexec mpirun REQUIRED)
find_package(Python3 COMPONENTS Interpreter)
