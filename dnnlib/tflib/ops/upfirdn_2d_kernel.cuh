// Kernel arithmetic of the UpFirDn2D op (vpdis).
//
// TensorFlow-free on purpose: the TF op (upfirdn_2d.cu) and the standalone CUDA harness
// (tests/cuda_harness/harness.cu) both include this file; the op's CPU kernel runs the very same
// per-output function (ufd_output) on the host.
//
// x: [major, inH, inW, minor], k: [kH, kW], y: [major, outH, outW, minor] with
//   outH = (inH*upy + pady0 + pady1 - kH) / downy + 1   (same for W)
//   y[n,oy,ox,c] = sum_{ky,kx} u[n, oy*downy+ky, ox*downx+kx, c] * k[kH-1-ky, kW-1-kx]
// where u is x zero-upsampled (x[iy] at iy*upy, length inH*upy) and then padded by pad0 before and pad1
// after (negative = crop). For tap ky, p = oy*downy + ky - pady0 contributes iff p >= 0, p % upy == 0 and
// p / upy < inH.

#ifndef VPDIS_UPFIRDN_2D_KERNEL_CUH_
#define VPDIS_UPFIRDN_2D_KERNEL_CUH_

#ifdef __CUDACC__
#define VPDIS_UFD_HD __host__ __device__ __forceinline__
#else
#define VPDIS_UFD_HD inline
#endif

namespace vpdis {

struct UpFirDn2DParams {
    int major, inH, inW, minor;
    int kH, kW;
    int upx, upy, downx, downy;
    int padx0, padx1, pady0, pady1;
    int outH, outW;
    long long sizeY;  // major * outH * outW * minor
};

// Output size along one axis; returns < 1 when the configuration produces no output.
inline int ufd_out_size(int in, int up, int pad0, int pad1, int k, int down) {
    const long long num = (long long)in * up + pad0 + pad1 - k;
    if (num < 0 || down < 1) return 0;
    return (int)(num / down + 1);
}

// Fills the derived fields; returns 0 on success, else a static message saying what is wrong.
inline const char* ufd_setup(UpFirDn2DParams* p) {
    if (p->upx < 1 || p->upy < 1) return "upx and upy must be >= 1";
    if (p->downx < 1 || p->downy < 1) return "downx and downy must be >= 1";
    if (p->kH < 1 || p->kW < 1) return "the FIR kernel k must have at least one element along each axis";
    p->outH = ufd_out_size(p->inH, p->upy, p->pady0, p->pady1, p->kH, p->downy);
    p->outW = ufd_out_size(p->inW, p->upx, p->padx0, p->padx1, p->kW, p->downx);
    if (p->outH < 1)
        return "output height < 1: need inH*upy + pady0 + pady1 >= kH (padding/cropping leaves nothing to filter)";
    if (p->outW < 1)
        return "output width < 1: need inW*upx + padx0 + padx1 >= kW (padding/cropping leaves nothing to filter)";
    p->sizeY = (long long)p->major * p->outH * p->outW * p->minor;
    return 0;
}

// First tap index t >= 0 such that q = base + t is >= 0 and divisible by up (base may be negative).
VPDIS_UFD_HD int ufd_first_tap(int base, int up) {
    int q = base < 0 ? 0 : base;
    q = (q + up - 1) / up * up;  // round up to a multiple of up (q >= 0)
    return q - base;
}

// Output element i (flat index over [major, outH, outW, minor]). I is the (unsigned) index type: 32-bit wherever
// the tensor allows, since 64-bit division is slow on GPUs.
template <class T, class I>
VPDIS_UFD_HD float ufd_output(const UpFirDn2DParams& p, const T* x, const T* k, I i) {
    const int c = (int)(i % (I)p.minor);
    I r = i / (I)p.minor;
    const int ox = (int)(r % (I)p.outW);
    r /= (I)p.outW;
    const int oy = (int)(r % (I)p.outH);
    const int n = (int)(r / (I)p.outH);

    const int baseY = oy * p.downy - p.pady0;  // position in the upsampled signal of tap ky = 0
    const int baseX = ox * p.downx - p.padx0;
    const int ky0 = ufd_first_tap(baseY, p.upy);
    const int kx0 = ufd_first_tap(baseX, p.upx);

    const long long rowStride = (long long)p.inW * p.minor;
    const T* xn = x + (long long)n * p.inH * rowStride + c;
    float acc = 0.f;
    for (int ky = ky0; ky < p.kH; ky += p.upy) {
        const int iy = (baseY + ky) / p.upy;
        if (iy >= p.inH) break;
        const T* xrow = xn + iy * rowStride;
        const T* krow = k + (long long)(p.kH - 1 - ky) * p.kW + (p.kW - 1);
        for (int kx = kx0; kx < p.kW; kx += p.upx) {
            const int ix = (baseX + kx) / p.upx;
            if (ix >= p.inW) break;
            acc += static_cast<float>(xrow[(long long)ix * p.minor]) * static_cast<float>(krow[-kx]);
        }
    }
    return acc;
}

template <class T>
inline void upfirdn_2d_host(const UpFirDn2DParams& p, const T* x, const T* k, T* y) {
    for (unsigned long long i = 0; i < (unsigned long long)p.sizeY; i++) y[i] = static_cast<T>(ufd_output<T>(p, x, k, i));
}

#ifdef __CUDACC__
static const int kUfdBlockSize = 256;
static const int kUfdMaxGrid = 65535 * 8;

// Generic kernel: one thread per output element, grid-stride loop. Consecutive threads take consecutive
// elements of y (minor fastest, then x), so the stores are coalesced.
// I = unsigned int needs sizeY < 2^31 (then i + stride cannot wrap), else I = unsigned long long.
template <class T, class I>
__global__ void UpFirDn2DKernelGeneric(UpFirDn2DParams p, const T* x, const T* k, T* y) {
    const I n = (I)p.sizeY;
    const I stride = (I)gridDim.x * blockDim.x;
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = static_cast<T>(ufd_output<T, I>(p, x, k, i));
}

template <class T>
inline cudaError_t upfirdn_2d_launch(const UpFirDn2DParams& p, const T* x, const T* k, T* y, cudaStream_t stream) {
    if (p.sizeY <= 0) return cudaSuccess;
    long long g = (p.sizeY + kUfdBlockSize - 1) / kUfdBlockSize;
    if (g > kUfdMaxGrid) g = kUfdMaxGrid;
    if (p.sizeY < (1ll << 31))
        UpFirDn2DKernelGeneric<T, unsigned int><<<(int)g, kUfdBlockSize, 0, stream>>>(p, x, k, y);
    else
        UpFirDn2DKernelGeneric<T, unsigned long long><<<(int)g, kUfdBlockSize, 0, stream>>>(p, x, k, y);
    return cudaGetLastError();
}
#endif  // __CUDACC__

}  // namespace vpdis

#endif  // VPDIS_UPFIRDN_2D_KERNEL_CUH_
