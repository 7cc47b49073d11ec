// Smallest check that nvcc, the CUDA runtime and the GPU driver work together:
//   nvcc test_nvcc.cu -o test_nvcc -run
// prints "CPU says hello." then "GPU says hello."; on any CUDA error it prints "<name>: <description>" and
// exits with status 1.

#include <cstdio>
#include <cstdlib>

#include <cuda_runtime.h>

static void check_cuda(cudaError_t err) {
    if (err != cudaSuccess) {
        printf("%s: %s\n", cudaGetErrorName(err), cudaGetErrorString(err));
        exit(1);
    }
}

__global__ void hello_kernel() { printf("GPU says hello.\n"); }

int main() {
    printf("CPU says hello.\n");
    fflush(stdout);
    check_cuda(cudaLaunchKernel((const void*)&hello_kernel, dim3(1), dim3(1), nullptr, 0, nullptr));
    check_cuda(cudaDeviceSynchronize());
    return 0;
}
