# CUDA build: a CUDA-enabled LibTorch plus NCCL, included before find_package(Torch). Two ways to get one:
#   - Debian 13: libtorch-cuda-dev, nvidia-cuda-toolkit, libnccl-dev (scripts/portability/check.sh);
#   - a Python torch install: -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)').
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  # "native" fails on machines without a GPU (docs/architecture.md §8); sm_90 is the H200/H100 generation.
  set(CMAKE_CUDA_ARCHITECTURES 90)
endif()
# LibTorch's own CMake files autodetect the GPU for their NVCC flags and fall back to a list of old
# architectures without one; give them ours instead ("90;80" -> "9.0;8.0").
if(NOT DEFINED TORCH_CUDA_ARCH_LIST AND NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  string(REGEX REPLACE "([0-9]+)([0-9])" "\\1.\\2" TORCH_CUDA_ARCH_LIST "${CMAKE_CUDA_ARCHITECTURES}")
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} $ENV{NCCL_HOME}/include REQUIRED)
find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} $ENV{NCCL_HOME}/lib REQUIRED)
add_library(cfm_cuda_deps INTERFACE)
target_include_directories(cfm_cuda_deps SYSTEM INTERFACE ${NCCL_INCLUDE_DIR})
target_link_libraries(cfm_cuda_deps INTERFACE CUDA::cudart ${NCCL_LIBRARY})
# USE_C10D_NCCL: the NCCL process group header (CUDA ranks of multi-device jobs).
target_compile_definitions(cfm_cuda_deps INTERFACE CFM_WITH_CUDA=1 USE_C10D_NCCL)
message(STATUS "cfm: CUDA build for ${CMAKE_CUDA_ARCHITECTURES}, NCCL at ${NCCL_LIBRARY}")
