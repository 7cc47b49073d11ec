// Standalone CUDA harness for the vpdis custom-op kernels (no TensorFlow).
//
// It includes the very kernel headers the TF ops are built from (dnnlib/tflib/ops/*_kernel.cuh), runs
// FusedBiasAct and UpFirDn2D on seeded random inputs, on the GPU and on the host (the op's CPU kernel
// path), and writes inputs and outputs for tests/cuda_harness/check.py, which compares them with
// independent numpy references. It also times both kernels on large inputs and prints the effective
// memory bandwidth next to the card's theoretical one.
//
// Usage: harness OUT_DIR [--host-only] [--no-bench] [--bench-only]
//   --host-only   run no CUDA call at all (checks the host path and check.py on a machine without a GPU)
//   --no-bench    skip the timing section
//   --bench-only  skip the correctness cases (OUT_DIR is not written)
// Build (see run_gpu_check.sh): nvcc -O3 --use_fast_math -std=c++17 -gencode=... -I dnnlib/tflib/ops harness.cu

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fused_bias_act_kernel.cuh"
#include "upfirdn_2d_kernel.cuh"

using namespace vpdis;

// ---------------------------------------------------------------------------------------------------------
// Utilities.

#define CUDA_CHECK(expr)                                                                          \
    do {                                                                                          \
        cudaError_t err_ = (expr);                                                                \
        if (err_ != cudaSuccess) {                                                                \
            printf("%s: %s\n  (at %s:%d: %s)\n", cudaGetErrorName(err_), cudaGetErrorString(err_), \
                   __FILE__, __LINE__, #expr);                                                    \
            exit(1);                                                                              \
        }                                                                                         \
    } while (0)

static bool g_host_only = false;

struct Rng {  // splitmix64
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    float uniform(float lo, float hi) { return lo + (hi - lo) * (float)((next() >> 40) * (1.0 / 16777216.0)); }
};

template <class T> inline T from_f(float v) { return static_cast<T>(v); }
template <> inline __half from_f<__half>(float v) { return __float2half(v); }
template <class T> inline float to_f(T v) { return static_cast<float>(v); }
template <> inline float to_f<__half>(__half v) { return __half2float(v); }
template <class T> inline const char* dtype_name();
template <> inline const char* dtype_name<float>() { return "float32"; }
template <> inline const char* dtype_name<__half>() { return "float16"; }

template <class T>
static void write_array(FILE* f, const std::vector<T>& v) {
    std::vector<float> tmp(v.size());
    for (size_t i = 0; i < v.size(); i++) tmp[i] = to_f<T>(v[i]);
    if (!tmp.empty()) fwrite(tmp.data(), sizeof(float), tmp.size(), f);
}

template <class T>
struct DeviceBuffer {
    T* ptr = nullptr;
    size_t n = 0;
    explicit DeviceBuffer(size_t count) : n(count) {
        if (!g_host_only && n) CUDA_CHECK(cudaMalloc(&ptr, n * sizeof(T)));
    }
    ~DeviceBuffer() {
        if (ptr) cudaFree(ptr);
    }
    void upload(const std::vector<T>& v) {
        if (ptr) CUDA_CHECK(cudaMemcpy(ptr, v.data(), n * sizeof(T), cudaMemcpyHostToDevice));
    }
    void download(std::vector<T>& v) {
        v.resize(n);
        if (ptr) CUDA_CHECK(cudaMemcpy(v.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost));
    }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

static FILE* g_manifest = nullptr;
static std::string g_out_dir;
static int g_case_id = 0;

// ---------------------------------------------------------------------------------------------------------
// FusedBiasAct cases.

template <class T>
static void fba_case(const std::vector<long long>& shape, int axis, bool bias, int act, int grad, float alpha,
                     float gain, int forced_grid = 0) {
    long long n = 1;
    for (long long d : shape) n *= d;
    const int sizeB = bias ? (int)shape[axis] : 0;
    long long stepB = 1;
    for (size_t i = axis + 1; i < shape.size(); i++) stepB *= shape[i];

    Rng rng(1000 + 7919ull * g_case_id);
    std::vector<T> x(n), b(sizeB), ref(grad > 0 ? n : 0), y_host(n), y_dev;
    for (long long i = 0; i < n; i++) {
        float v = rng.uniform(-4.f, 4.f);
        if (i % 17 == 3) v *= 30.f;  // a few large values exercise the exp clamps and saturation
        x[i] = from_f<T>(v);
    }
    for (int i = 0; i < sizeB; i++) b[i] = from_f<T>(rng.uniform(-1.f, 1.f));
    if (grad > 0) {
        // A realistic ref: the forward output (gain included) of some pre-activation, or the
        // pre-activation itself for swish.
        for (long long i = 0; i < n; i++) {
            float h = rng.uniform(-4.f, 4.f);
            if (i % 13 == 5) h *= 25.f;
            ref[i] = from_f<T>(act == kActSwish ? h : fba_compute(h, 0.f, 0.f, 0, act, alpha, gain));
        }
    }

    FusedBiasActParams p;
    p.grad = grad;
    p.act = act;
    p.alpha = alpha;
    p.gain = gain;
    p.sizeX = n;
    p.sizeB = sizeB;
    p.stepB = stepB;
    p.hasRef = grad > 0;

    fused_bias_act_host<T>(p, x.data(), b.data(), ref.data(), y_host.data());

    if (!g_host_only) {
        DeviceBuffer<T> dx(n), db(sizeB), dref(ref.size()), dy(n);
        dx.upload(x);
        db.upload(b);
        dref.upload(ref);
        CUDA_CHECK(cudaMemset(dy.ptr, 0xFF, n * sizeof(T)));  // NaN fill: unwritten outputs fail the check
        if (forced_grid > 0) {  // a tiny grid exercises the grid-stride loop (32-bit indices)
            FusedBiasActKernel<T, unsigned int><<<forced_grid, kFbaBlockSize>>>(p, dx.ptr, db.ptr, dref.ptr, dy.ptr);
            CUDA_CHECK(cudaGetLastError());
        } else if (forced_grid < 0) {  // the same with the 64-bit index path
            FusedBiasActKernel<T, unsigned long long><<<-forced_grid, kFbaBlockSize>>>(p, dx.ptr, db.ptr, dref.ptr,
                                                                                       dy.ptr);
            CUDA_CHECK(cudaGetLastError());
        } else {
            CUDA_CHECK(fused_bias_act_launch<T>(p, dx.ptr, db.ptr, dref.ptr, dy.ptr, 0));
        }
        CUDA_CHECK(cudaDeviceSynchronize());
        dy.download(y_dev);
    }

    char name[64];
    snprintf(name, sizeof(name), "case_%04d.bin", g_case_id);
    FILE* f = fopen((g_out_dir + "/" + name).c_str(), "wb");
    if (!f) {
        printf("cannot write %s/%s\n", g_out_dir.c_str(), name);
        exit(1);
    }
    write_array(f, x);
    write_array(f, b);
    write_array(f, ref);
    write_array(f, y_host);
    write_array(f, y_dev);
    fclose(f);

    fprintf(g_manifest, "op=fba id=%d file=%s dtype=%s shape=", g_case_id, name, dtype_name<T>());
    for (size_t i = 0; i < shape.size(); i++) fprintf(g_manifest, "%s%lld", i ? "," : "", shape[i]);
    fprintf(g_manifest, " axis=%d bias=%d act=%d grad=%d alpha=%.9g gain=%.9g grid=%d device=%d\n", axis, (int)bias,
            act, grad, alpha, gain, forced_grid, g_host_only ? 0 : 1);
    g_case_id++;
}

// ---------------------------------------------------------------------------------------------------------
// UpFirDn2D cases.

template <class T>
static void ufd_case(int major, int inH, int inW, int minor, int kH, int kW, int upx, int upy, int downx, int downy,
                     int padx0, int padx1, int pady0, int pady1, int forced_grid = 0) {
    UpFirDn2DParams p = UpFirDn2DParams();
    p.major = major;
    p.inH = inH;
    p.inW = inW;
    p.minor = minor;
    p.kH = kH;
    p.kW = kW;
    p.upx = upx;
    p.upy = upy;
    p.downx = downx;
    p.downy = downy;
    p.padx0 = padx0;
    p.padx1 = padx1;
    p.pady0 = pady0;
    p.pady1 = pady1;
    const char* msg = ufd_setup(&p);
    if (msg) {
        printf("harness bug: invalid upfirdn case: %s\n", msg);
        exit(1);
    }

    Rng rng(5000 + 104729ull * g_case_id);
    const long long nx = (long long)major * inH * inW * minor;
    std::vector<T> x(nx), k((size_t)kH * kW), y_host(p.sizeY), y_dev;
    for (auto& v : x) v = from_f<T>(rng.uniform(-1.f, 1.f));
    for (auto& v : k) v = from_f<T>(rng.uniform(-1.f, 1.f));

    upfirdn_2d_host<T>(p, x.data(), k.data(), y_host.data());

    if (!g_host_only) {
        DeviceBuffer<T> dx(nx), dk(k.size()), dy(p.sizeY);
        dx.upload(x);
        dk.upload(k);
        CUDA_CHECK(cudaMemset(dy.ptr, 0xFF, p.sizeY * sizeof(T)));
        if (forced_grid > 0) {  // a tiny grid exercises the grid-stride loop (32-bit indices)
            UpFirDn2DKernelGeneric<T, unsigned int><<<forced_grid, kUfdBlockSize>>>(p, dx.ptr, dk.ptr, dy.ptr);
            CUDA_CHECK(cudaGetLastError());
        } else if (forced_grid < 0) {  // the same with the 64-bit index path
            UpFirDn2DKernelGeneric<T, unsigned long long><<<-forced_grid, kUfdBlockSize>>>(p, dx.ptr, dk.ptr, dy.ptr);
            CUDA_CHECK(cudaGetLastError());
        } else {
            CUDA_CHECK(upfirdn_2d_launch<T>(p, dx.ptr, dk.ptr, dy.ptr, 0));
        }
        CUDA_CHECK(cudaDeviceSynchronize());
        dy.download(y_dev);
    }

    char name[64];
    snprintf(name, sizeof(name), "case_%04d.bin", g_case_id);
    FILE* f = fopen((g_out_dir + "/" + name).c_str(), "wb");
    if (!f) {
        printf("cannot write %s/%s\n", g_out_dir.c_str(), name);
        exit(1);
    }
    write_array(f, x);
    write_array(f, k);
    write_array(f, y_host);
    write_array(f, y_dev);
    fclose(f);

    fprintf(g_manifest,
            "op=ufd id=%d file=%s dtype=%s major=%d inH=%d inW=%d minor=%d kH=%d kW=%d upx=%d upy=%d downx=%d "
            "downy=%d padx0=%d padx1=%d pady0=%d pady1=%d outH=%d outW=%d grid=%d device=%d\n",
            g_case_id, name, dtype_name<T>(), major, inH, inW, minor, kH, kW, upx, upy, downx, downy, padx0, padx1,
            pady0, pady1, p.outH, p.outW, forced_grid, g_host_only ? 0 : 1);
    g_case_id++;
}

static void run_cases() {
    // FusedBiasAct: every act x grad 0/1/2 on a rank-4 tensor with bias along axis 1 (NCHW), plus axis 0 and
    // axis 3 (NHWC) and a rank-2 dense layer with and without bias, alpha/gain variations, half precision,
    // and a tiny forced grid for the grid-stride loop.
    const std::vector<long long> nchw = {2, 5, 6, 7};
    for (int act = 1; act <= 9; act++) {
        const float alpha = act == kActLrelu ? 0.2f : (act == kActElu ? 1.0f : 0.f);
        const float gain = (act == kActRelu || act == kActLrelu || act == kActSwish) ? 1.41421356f : 1.f;
        for (int grad = 0; grad <= 2; grad++) {
            fba_case<float>(nchw, 1, grad == 0, act, grad, alpha, gain);
            fba_case<float>({3, 4, 5, 6}, grad == 0 ? 3 : 0, grad == 0, act, grad, 0.3f, 0.7f);
            fba_case<float>({3, 4, 5, 6}, 0, grad == 0, act, grad, 0.3f, 2.5f);
        }
        fba_case<float>({9, 33}, 1, false, act, 0, alpha, gain);
        fba_case<float>({9, 33}, 1, true, act, 0, 0.5f, 1.f);
        fba_case<__half>(nchw, 1, true, act, 0, alpha, gain);
        fba_case<__half>(nchw, 1, false, act, 1, alpha, gain);
    }
    fba_case<float>({4, 64, 10, 11}, 1, true, kActLrelu, 0, 0.2f, 1.41421356f, /*forced_grid=*/3);
    fba_case<float>({4, 64, 10, 11}, 1, false, kActSwish, 2, 0.f, 1.41421356f, /*forced_grid=*/2);
    fba_case<float>({4, 64, 10, 11}, 1, true, kActTanh, 0, 0.f, 1.f, /*forced_grid=*/-3);  // 64-bit indices

    // UpFirDn2D: the StyleGAN2 configurations (upsample / downsample / filter with a 4x4 kernel, NCHW
    // folded into major with minor 1 and NHWC with minor > 1), odd factors, crops, non-square kernels.
    //        major inH inW minor kH kW upx upy dnx dny px0 px1 py0 py1
    ufd_case<float>(3, 8, 8, 1, 4, 4, 2, 2, 1, 1, 2, 1, 2, 1);      // upsample_2d
    ufd_case<float>(3, 8, 8, 1, 4, 4, 1, 1, 2, 2, 1, 1, 1, 1);      // downsample_2d
    ufd_case<float>(3, 8, 8, 1, 4, 4, 1, 1, 1, 1, 2, 1, 2, 1);      // filter_2d
    ufd_case<float>(2, 7, 9, 3, 4, 4, 2, 2, 1, 1, 2, 1, 2, 1);      // NHWC-style minor 3
    ufd_case<float>(2, 7, 9, 3, 3, 5, 1, 1, 1, 1, 1, 3, 2, 0);      // non-square kernel
    ufd_case<float>(2, 10, 6, 2, 5, 2, 3, 2, 2, 3, 0, 4, 2, 1);     // up 3x2, down 2x3, non-square
    ufd_case<float>(2, 9, 11, 1, 3, 4, 1, 1, 1, 1, -2, -1, -1, -3); // crops only
    ufd_case<float>(2, 9, 11, 2, 2, 3, 2, 3, 3, 2, -1, 2, 3, -2);   // mixed pad/crop
    ufd_case<float>(1, 6, 5, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0);      // identity
    ufd_case<float>(2, 5, 5, 2, 6, 6, 4, 4, 1, 1, 3, 2, 3, 2);      // up 4
    ufd_case<float>(2, 16, 12, 1, 6, 6, 1, 1, 4, 4, 1, 1, 1, 1);    // down 4
    ufd_case<float>(1, 4, 4, 1, 7, 2, 1, 1, 1, 1, 6, 0, 3, 3);      // kernel larger than the input
    ufd_case<float>(5, 12, 12, 4, 4, 4, 2, 2, 1, 1, 2, 1, 2, 1, /*forced_grid=*/2);
    ufd_case<float>(3, 10, 9, 2, 3, 4, 2, 1, 1, 2, 1, 2, 2, 1, /*forced_grid=*/-3);  // 64-bit indices
    ufd_case<__half>(3, 8, 8, 1, 4, 4, 2, 2, 1, 1, 2, 1, 2, 1);
    ufd_case<__half>(2, 9, 11, 2, 2, 3, 2, 3, 3, 2, -1, 2, 3, -2);
}

// ---------------------------------------------------------------------------------------------------------
// Benchmark.

static double g_peak_gbs = 0.0;

template <class F>
static float time_ms(F launch, int iters) {
    cudaEvent_t a, b;
    CUDA_CHECK(cudaEventCreate(&a));
    CUDA_CHECK(cudaEventCreate(&b));
    for (int i = 0; i < 3; i++) launch();  // warm-up
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaEventRecord(a));
    for (int i = 0; i < iters; i++) launch();
    CUDA_CHECK(cudaEventRecord(b));
    CUDA_CHECK(cudaEventSynchronize(b));
    CUDA_CHECK(cudaGetLastError());
    float ms = 0.f;
    CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    CUDA_CHECK(cudaEventDestroy(a));
    CUDA_CHECK(cudaEventDestroy(b));
    return ms / iters;
}

static void report(const char* what, double bytes, float ms) {
    const double gbs = bytes / (ms * 1e-3) / 1e9;
    printf("BENCH %-58s %8.3f ms  %8.1f GB/s effective  (%5.1f%% of theoretical %.0f GB/s)\n", what, ms, gbs,
           g_peak_gbs > 0 ? 100.0 * gbs / g_peak_gbs : 0.0, g_peak_gbs);
}

template <class T>
static void bench_fba(int grad, int act, const char* label) {
    const long long N = 32, C = 512, H = 64, W = 64, n = N * C * H * W;  // 67M elements
    Rng rng(42);
    std::vector<T> x(n), b(C), ref(grad ? n : 0);
    for (auto& v : x) v = from_f<T>(rng.uniform(-3.f, 3.f));
    for (auto& v : b) v = from_f<T>(rng.uniform(-1.f, 1.f));
    for (auto& v : ref) v = from_f<T>(rng.uniform(-1.f, 1.f));
    DeviceBuffer<T> dx(n), db(grad ? 0 : C), dref(ref.size()), dy(n);
    dx.upload(x);
    if (!grad) db.upload(b);
    dref.upload(ref);
    FusedBiasActParams p;
    p.grad = grad;
    p.act = act;
    p.alpha = 0.2f;
    p.gain = 1.41421356f;
    p.sizeX = n;
    p.sizeB = grad ? 0 : (int)C;
    p.stepB = H * W;
    p.hasRef = grad > 0;
    const float ms = time_ms([&] { fused_bias_act_launch<T>(p, dx.ptr, db.ptr, dref.ptr, dy.ptr, 0); }, 20);
    const double bytes = (double)n * sizeof(T) * (grad ? 3 : 2) + (grad ? 0 : C * sizeof(T));
    // Spot-check the big run against the host path.
    std::vector<T> y;
    dy.download(y);
    int bad = 0;
    for (int s = 0; s < 4096; s++) {
        const long long i = (long long)(rng.next() % (uint64_t)n);
        const float bv = p.sizeB ? to_f<T>(b[(i / p.stepB) % p.sizeB]) : 0.f;
        const float rv = p.hasRef ? to_f<T>(ref[i]) : 0.f;
        const float yh = to_f<T>(from_f<T>(fba_compute(to_f<T>(x[i]), bv, rv, p.grad, p.act, p.alpha, p.gain)));
        const float d = fabsf(yh - to_f<T>(y[i]));
        if (!(d <= 1e-3f + 1e-2f * fabsf(yh))) bad++;
    }
    char what[160];
    snprintf(what, sizeof(what), "fused_bias_act %s %s [32,512,64,64]%s", label, dtype_name<T>(),
             bad ? " SPOT-CHECK MISMATCH" : "");
    report(what, bytes, ms);
    if (bad) {
        printf("FAIL bench spot-check fused_bias_act %s: %d of 4096 samples differ from the host path\n", label, bad);
        exit(2);
    }
}

template <class T>
static void bench_ufd(const char* label, int major, int inH, int inW, int minor, int k, int up, int down, int pad0,
                      int pad1) {
    UpFirDn2DParams p = UpFirDn2DParams();
    p.major = major;
    p.inH = inH;
    p.inW = inW;
    p.minor = minor;
    p.kH = p.kW = k;
    p.upx = p.upy = up;
    p.downx = p.downy = down;
    p.padx0 = p.pady0 = pad0;
    p.padx1 = p.pady1 = pad1;
    if (ufd_setup(&p)) {
        printf("harness bug: bad bench config %s\n", label);
        exit(1);
    }
    const long long nx = (long long)major * inH * inW * minor;
    Rng rng(7);
    std::vector<T> x(nx), kk((size_t)k * k);
    for (auto& v : x) v = from_f<T>(rng.uniform(-1.f, 1.f));
    for (auto& v : kk) v = from_f<T>(rng.uniform(0.f, 0.2f));
    DeviceBuffer<T> dx(nx), dk(kk.size()), dy(p.sizeY);
    dx.upload(x);
    dk.upload(kk);
    const float ms = time_ms([&] { upfirdn_2d_launch<T>(p, dx.ptr, dk.ptr, dy.ptr, 0); }, 10);
    const double bytes = (double)(nx + p.sizeY) * sizeof(T);
    std::vector<T> y;
    dy.download(y);
    int bad = 0;
    for (int s = 0; s < 4096; s++) {
        const unsigned long long i = rng.next() % (uint64_t)p.sizeY;
        const float yh = ufd_output<T>(p, x.data(), kk.data(), i);
        const float d = fabsf(yh - to_f<T>(y[i]));
        if (!(d <= 1e-3f + 1e-2f * fabsf(yh))) bad++;
    }
    char what[160];
    snprintf(what, sizeof(what), "upfirdn_2d %s %s [%d,%d,%d,%d]->[%d,%d]%s", label, dtype_name<T>(), major, inH, inW,
             minor, p.outH, p.outW, bad ? " SPOT-CHECK MISMATCH" : "");
    report(what, bytes, ms);
    if (bad) {
        printf("FAIL bench spot-check upfirdn_2d %s: %d of 4096 samples differ from the host path\n", label, bad);
        exit(2);
    }
}

static void run_bench() {
    printf("Benchmark (effective GB/s counts each input element read once and each output written once)\n");
    bench_fba<float>(0, kActLrelu, "fwd lrelu+bias");
    bench_fba<float>(1, kActLrelu, "grad1 lrelu");
    bench_fba<float>(2, kActTanh, "grad2 tanh");
    bench_fba<__half>(0, kActLrelu, "fwd lrelu+bias");
    bench_ufd<float>("upsample2 k4 (NCHW)", 32 * 256, 64, 64, 1, 4, 2, 1, 2, 1);
    bench_ufd<float>("downsample2 k4 (NCHW)", 32 * 256, 128, 128, 1, 4, 1, 2, 1, 1);
    bench_ufd<float>("filter k4 (NCHW)", 32 * 256, 64, 64, 1, 4, 1, 1, 2, 1);
    bench_ufd<float>("upsample2 k4 (NHWC minor 256)", 32, 64, 64, 256, 4, 2, 1, 2, 1);
    bench_ufd<__half>("upsample2 k4 (NCHW)", 32 * 256, 64, 64, 1, 4, 2, 1, 2, 1);
}

// ---------------------------------------------------------------------------------------------------------

int main(int argc, char** argv) {
    if (argc < 2) {
        printf("usage: %s OUT_DIR [--host-only] [--no-bench] [--bench-only]\n", argv[0]);
        return 1;
    }
    g_out_dir = argv[1];
    bool bench = true, cases = true;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--host-only")) g_host_only = true;
        else if (!strcmp(argv[i], "--no-bench")) bench = false;
        else if (!strcmp(argv[i], "--bench-only")) cases = false;
        else {
            printf("unknown option %s\n", argv[i]);
            return 1;
        }
    }

    if (!g_host_only) {
        int dev = 0, cc_major = 0, cc_minor = 0, sms = 0, mem_clock_khz = 0, bus_bits = 0;
        CUDA_CHECK(cudaGetDevice(&dev));
        cudaDeviceProp prop;
        CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
        // memoryClockRate left cudaDeviceProp in CUDA 13; the attribute query works on every version.
        CUDA_CHECK(cudaDeviceGetAttribute(&cc_major, cudaDevAttrComputeCapabilityMajor, dev));
        CUDA_CHECK(cudaDeviceGetAttribute(&cc_minor, cudaDevAttrComputeCapabilityMinor, dev));
        CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
        CUDA_CHECK(cudaDeviceGetAttribute(&mem_clock_khz, cudaDevAttrMemoryClockRate, dev));
        CUDA_CHECK(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, dev));
        g_peak_gbs = 2.0 * mem_clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
        printf("Device %d: %s, compute capability %d.%d, %d SMs, %.1f GiB\n", dev, prop.name, cc_major, cc_minor, sms,
               prop.totalGlobalMem / 1073741824.0);
        printf("Theoretical memory bandwidth: %.0f GB/s (2 x %d kHz x %d bits / 8)\n", g_peak_gbs, mem_clock_khz,
               bus_bits);
    } else {
        printf("Host-only mode: no CUDA calls; only the host path is produced.\n");
    }

    if (cases) {
        g_manifest = fopen((g_out_dir + "/manifest.txt").c_str(), "w");
        if (!g_manifest) {
            printf("cannot write %s/manifest.txt\n", g_out_dir.c_str());
            return 1;
        }
        run_cases();
        fclose(g_manifest);
        printf("Wrote %d cases to %s\n", g_case_id, g_out_dir.c_str());
    }

    if (bench && !g_host_only) run_bench();
    return 0;
}
