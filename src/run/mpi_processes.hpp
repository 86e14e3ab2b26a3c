#pragma once
// The processes of an MPI job (mpi_processes.cpp, built with TYPENET_MPI only).
#include "typenet/run/processes.hpp"

namespace typenet {

// The job this process belongs to when mpirun launched it, else null: a
// program run by hand stays one process and starts no MPI.
processes* mpi_job();

}  // namespace typenet
