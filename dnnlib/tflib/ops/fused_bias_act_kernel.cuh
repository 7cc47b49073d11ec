// Kernel arithmetic of the FusedBiasAct op (vpdis).
//
// TensorFlow-free on purpose: the TF op (fused_bias_act.cu) and the standalone CUDA harness
// (tests/cuda_harness/harness.cu) both include this file, so the numbers checked by the harness on a GPU
// are produced by exactly the code the op runs, and the op's CPU kernel runs the very same per-element
// function (fba_compute) on the host.
//
// Semantics (act codes, grad modes) are documented in fused_bias_act.cu next to the op registration.

#ifndef VPDIS_FUSED_BIAS_ACT_KERNEL_CUH_
#define VPDIS_FUSED_BIAS_ACT_KERNEL_CUH_

#include <math.h>

#ifdef __CUDACC__
#define VPDIS_HD __host__ __device__ __forceinline__
#else
#define VPDIS_HD inline
#endif

namespace vpdis {

// Activation codes (must match the Python wrapper).
enum FbaAct {
    kActLinear = 1,
    kActRelu = 2,
    kActLrelu = 3,
    kActTanh = 4,
    kActSigmoid = 5,
    kActElu = 6,
    kActSelu = 7,
    kActSoftplus = 8,
    kActSwish = 9,
};

struct FusedBiasActParams {
    int grad;       // 0 forward, 1 first derivative, 2 second derivative
    int act;        // FbaAct
    float alpha;    // lrelu slope / elu alpha (ignored by selu)
    float gain;     // output gain
    long long sizeX;  // number of elements of x (and y, and ref when grad > 0)
    int sizeB;      // number of bias elements: 0 (no bias) or x.shape[axis]
    long long stepB;  // product of x's dims after `axis`
    int hasRef;     // ref holds sizeX elements (grad > 0)
};

VPDIS_HD float fba_clamp_exp_arg(float v) { return v < -80.f ? -80.f : (v > 80.f ? 80.f : v); }
VPDIS_HD float fba_exp(float v) { return expf(fba_clamp_exp_arg(v)); }
VPDIS_HD float fba_expm1(float v) { return expm1f(fba_clamp_exp_arg(v)); }
VPDIS_HD float fba_sigmoid(float v) { return 1.f / (1.f + fba_exp(-v)); }
// tanh via expm1: accurate near 0 in relative terms and saturating cleanly. (tanhf itself becomes the
// tanh.approx.f32 instruction under --use_fast_math, ~2^-11 relative error: too coarse for the checks.)
VPDIS_HD float fba_tanh(float v) {
    const float e = fba_expm1(2.f * v);
    return e / (e + 2.f);
}

// One element. x: input value (grad 0) or incoming gradient dy (grad 1/2); b: bias value (0 when no
// bias); r: the `ref` value (grad 1/2 only): forward output (gain included) for every act but swish,
// the pre-activation h for swish.
VPDIS_HD float fba_compute(float x, float b, float r, int grad, int act, float alpha, float gain) {
    const float kSeluScale = 1.0507009873554805f;
    const float kSeluAlpha = 1.6732632423543772f;

    if (grad == 0) {
        const float h = x + b;
        float y;
        switch (act) {
            case kActRelu: y = h > 0.f ? h : 0.f; break;
            case kActLrelu: y = h > 0.f ? h : h * alpha; break;
            case kActTanh: y = fba_tanh(h); break;
            case kActSigmoid: y = fba_sigmoid(h); break;
            case kActElu: y = h >= 0.f ? h : alpha * fba_expm1(h); break;
            case kActSelu: y = h >= 0.f ? kSeluScale * h : kSeluScale * kSeluAlpha * fba_expm1(h); break;
            // Stable softplus: max(h,0) + log(1 + exp(-|h|)); never overflows, exact for large |h|.
            case kActSoftplus: y = (h > 0.f ? h : 0.f) + log1pf(fba_exp(-fabsf(h))); break;
            case kActSwish: y = h * fba_sigmoid(h); break;
            default: y = h; break;  // linear
        }
        return y * gain;
    }

    if (act == kActSwish) {  // ref is the pre-activation h
        const float h = r;
        const float s = fba_sigmoid(h);
        if (grad == 1) return x * gain * (s + h * s * (1.f - s));
        return x * gain * s * (1.f - s) * (2.f + h * (1.f - 2.f * s));
    }

    // Every other act: ref is the forward output (gain included).
    const float a = gain != 0.f ? r / gain : 0.f;
    if (grad == 1) {
        float d;
        switch (act) {
            case kActRelu: d = a > 0.f ? 1.f : 0.f; break;
            case kActLrelu: d = a > 0.f ? 1.f : alpha; break;
            case kActTanh: d = 1.f - a * a; break;
            case kActSigmoid: d = a * (1.f - a); break;
            case kActElu: d = a >= 0.f ? 1.f : a + alpha; break;
            case kActSelu: d = a >= 0.f ? kSeluScale : a + kSeluScale * kSeluAlpha; break;
            case kActSoftplus: d = 1.f - fba_exp(-a); break;
            default: d = 1.f; break;  // linear
        }
        return x * gain * d;
    }

    // grad == 2: derivative of the grad=1 multiplier gain*act'(a) with respect to ref (= gain*a), which
    // is d(act'(a))/da: the gains cancel.
    float d;
    switch (act) {
        case kActTanh: d = -2.f * a; break;
        case kActSigmoid: d = 1.f - 2.f * a; break;
        case kActElu: d = a < 0.f ? 1.f : 0.f; break;
        case kActSelu: d = a < 0.f ? 1.f : 0.f; break;
        case kActSoftplus: d = fba_exp(-a); break;
        default: d = 0.f; break;  // linear, relu, lrelu: piecewise linear
    }
    return x * d;
}

// Element i of the flat output. T is float or a half type convertible to/from float; I the (unsigned) index
// type: 32-bit wherever the tensor allows, since 64-bit division is slow on GPUs.
template <class T, class I>
VPDIS_HD void fba_element(const FusedBiasActParams& p, const T* x, const T* b, const T* ref, T* y, I i) {
    const float xv = static_cast<float>(x[i]);
    const float bv = p.sizeB > 0 ? static_cast<float>(b[(i / (I)p.stepB) % (I)p.sizeB]) : 0.f;
    const float rv = p.hasRef ? static_cast<float>(ref[i]) : 0.f;
    y[i] = static_cast<T>(fba_compute(xv, bv, rv, p.grad, p.act, p.alpha, p.gain));
}

// Host loop: the CPU kernel of the op and the harness's host check run this.
template <class T>
inline void fused_bias_act_host(const FusedBiasActParams& p, const T* x, const T* b, const T* ref, T* y) {
    for (unsigned long long i = 0; i < (unsigned long long)p.sizeX; i++) fba_element<T>(p, x, b, ref, y, i);
}

#ifdef __CUDACC__
// Launch shape: 128 threads per block, about 4 elements per thread, grid-stride loop.
static const int kFbaBlockSize = 128;
static const int kFbaElemsPerThread = 4;
static const int kFbaMaxGrid = 65535;

// I = unsigned int needs sizeX < 2^31 (then i + stride cannot wrap), else I = unsigned long long.
template <class T, class I>
__global__ void FusedBiasActKernel(FusedBiasActParams p, const T* x, const T* b, const T* ref, T* y) {
    const I n = (I)p.sizeX;
    const I stride = (I)gridDim.x * blockDim.x;
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) fba_element<T, I>(p, x, b, ref, y, i);
}

inline void fused_bias_act_launch_shape(long long sizeX, int* grid, int* block) {
    long long g = (sizeX + (long long)kFbaBlockSize * kFbaElemsPerThread - 1) /
                  ((long long)kFbaBlockSize * kFbaElemsPerThread);
    if (g < 1) g = 1;
    if (g > kFbaMaxGrid) g = kFbaMaxGrid;
    *grid = (int)g;
    *block = kFbaBlockSize;
}

// Launch on `stream`; returns the launch's cudaError_t (cudaSuccess when there was nothing to do).
template <class T>
inline cudaError_t fused_bias_act_launch(const FusedBiasActParams& p, const T* x, const T* b, const T* ref, T* y,
                                         cudaStream_t stream) {
    if (p.sizeX <= 0) return cudaSuccess;
    int grid, block;
    fused_bias_act_launch_shape(p.sizeX, &grid, &block);
    if (p.sizeX < (1ll << 31))
        FusedBiasActKernel<T, unsigned int><<<grid, block, 0, stream>>>(p, x, b, ref, y);
    else
        FusedBiasActKernel<T, unsigned long long><<<grid, block, 0, stream>>>(p, x, b, ref, y);
    return cudaGetLastError();
}
#endif  // __CUDACC__

}  // namespace vpdis

#endif  // VPDIS_FUSED_BIAS_ACT_KERNEL_CUH_
