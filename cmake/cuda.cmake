# CUDA build: a CUDA-enabled LibTorch (e.g. the one inside a Python torch install:
#   cmake -DCFM_WITH_CUDA=ON -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)'))
# plus NCCL from the CUDA toolkit. find_package(Torch) above already picked that LibTorch up through
# CMAKE_PREFIX_PATH; here we add the CUDA language, the toolkit and NCCL.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  # "native" fails on machines without a GPU (docs/architecture.md §8); sm_90 is the H200/H100 generation.
  set(CMAKE_CUDA_ARCHITECTURES 90)
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} $ENV{NCCL_HOME}/include REQUIRED)
find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} $ENV{NCCL_HOME}/lib REQUIRED)
if(NOT C10_CUDA_LIBRARY)
  message(WARNING "CFM_WITH_CUDA is ON but the LibTorch found at ${Torch_DIR} has no CUDA support")
endif()
add_library(cfm_cuda_deps INTERFACE)
target_include_directories(cfm_cuda_deps SYSTEM INTERFACE ${NCCL_INCLUDE_DIR})
target_link_libraries(cfm_cuda_deps INTERFACE CUDA::cudart ${NCCL_LIBRARY})
target_compile_definitions(cfm_cuda_deps INTERFACE CFM_WITH_CUDA=1)
message(STATUS "cfm: CUDA build, NCCL at ${NCCL_LIBRARY}")
