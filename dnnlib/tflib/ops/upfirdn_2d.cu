// TensorFlow op UpFirDn2D (vpdis): zero-insertion upsampling, padding (negative = cropping), 2-D FIR filter
// (true convolution) and downsampling in one pass. Built on first use by dnnlib/tflib/custom_ops.py (nvcc)
// and loaded with tf.load_op_library.
//
//   inputs : x [major, inH, inW, minor], k [kH, kW]
//   attrs  : upx, upy, downx, downy (>= 1), padx0, padx1, pady0, pady1 (any sign)
//   output : y [major, outH, outW, minor], outH = (inH*upy + pady0 + pady1 - kH) / downy + 1 (same for W)
// The arithmetic lives in upfirdn_2d_kernel.cuh (shared with the CUDA harness). The CPU kernel runs the same
// per-output function on the host, so the op's arithmetic is testable without a GPU.

#define EIGEN_USE_THREADS
#ifdef __CUDACC__
#define EIGEN_USE_GPU
#endif

#include <limits>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/util/work_sharder.h"

#include "upfirdn_2d_kernel.cuh"

using namespace tensorflow;

// ---------------------------------------------------------------------------------------------------------
// Registration.

REGISTER_OP("UpFirDn2D")
    .Input("x: T")
    .Input("k: T")
    .Output("y: T")
    .Attr("T: {float, half}")
    .Attr("upx: int = 1")
    .Attr("upy: int = 1")
    .Attr("downx: int = 1")
    .Attr("downy: int = 1")
    .Attr("padx0: int = 0")
    .Attr("padx1: int = 0")
    .Attr("pady0: int = 0")
    .Attr("pady1: int = 0")
    .SetShapeFn([](::tensorflow::shape_inference::InferenceContext* c) {
        // Static output shape where x's and k's dims are known; unknown dims stay unknown.
        ::tensorflow::shape_inference::ShapeHandle xs, ks;
        TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 4, &xs));
        TF_RETURN_IF_ERROR(c->WithRank(c->input(1), 2, &ks));
        int upx, upy, downx, downy, padx0, padx1, pady0, pady1;
        TF_RETURN_IF_ERROR(c->GetAttr("upx", &upx));
        TF_RETURN_IF_ERROR(c->GetAttr("upy", &upy));
        TF_RETURN_IF_ERROR(c->GetAttr("downx", &downx));
        TF_RETURN_IF_ERROR(c->GetAttr("downy", &downy));
        TF_RETURN_IF_ERROR(c->GetAttr("padx0", &padx0));
        TF_RETURN_IF_ERROR(c->GetAttr("padx1", &padx1));
        TF_RETURN_IF_ERROR(c->GetAttr("pady0", &pady0));
        TF_RETURN_IF_ERROR(c->GetAttr("pady1", &pady1));
        if (upx < 1 || upy < 1 || downx < 1 || downy < 1)
            return errors::InvalidArgument("UpFirDn2D: upx, upy, downx and downy must be >= 1, got up (", upx,
                                           ", ", upy, ") down (", downx, ", ", downy, ")");
        ::tensorflow::shape_inference::DimensionHandle outH = c->UnknownDim(), outW = c->UnknownDim();
        const auto inHd = c->Dim(xs, 1), inWd = c->Dim(xs, 2), kHd = c->Dim(ks, 0), kWd = c->Dim(ks, 1);
        if (c->ValueKnown(inHd) && c->ValueKnown(kHd)) {
            const int h = vpdis::ufd_out_size((int)c->Value(inHd), upy, pady0, pady1, (int)c->Value(kHd), downy);
            if (h < 1)
                return errors::InvalidArgument("UpFirDn2D: output height < 1 (inH ", c->Value(inHd), ", upy ", upy,
                                               ", pady ", pady0, "/", pady1, ", kH ", c->Value(kHd), ")");
            outH = c->MakeDim(h);
        }
        if (c->ValueKnown(inWd) && c->ValueKnown(kWd)) {
            const int w = vpdis::ufd_out_size((int)c->Value(inWd), upx, padx0, padx1, (int)c->Value(kWd), downx);
            if (w < 1)
                return errors::InvalidArgument("UpFirDn2D: output width < 1 (inW ", c->Value(inWd), ", upx ", upx,
                                               ", padx ", padx0, "/", padx1, ", kW ", c->Value(kWd), ")");
            outW = c->MakeDim(w);
        }
        c->set_output(0, c->MakeShape({c->Dim(xs, 0), outH, outW, c->Dim(xs, 3)}));
        return Status();
    });

// ---------------------------------------------------------------------------------------------------------
// Kernels. One base class reads the attributes and validates the inputs; the CPU and GPU kernels differ only
// in how they run the per-output function.

class UpFirDn2DOpBase : public OpKernel {
  public:
    explicit UpFirDn2DOpBase(OpKernelConstruction* ctx) : OpKernel(ctx) {
        OP_REQUIRES_OK(ctx, ctx->GetAttr("upx", &attr_.upx));
        OP_REQUIRES_OK(ctx, ctx->GetAttr("upy", &attr_.upy));
        OP_REQUIRES_OK(ctx, ctx->GetAttr("downx", &attr_.downx));
        OP_REQUIRES_OK(ctx, ctx->GetAttr("downy", &attr_.downy));
        OP_REQUIRES_OK(ctx, ctx->GetAttr("padx0", &attr_.padx0));
        OP_REQUIRES_OK(ctx, ctx->GetAttr("padx1", &attr_.padx1));
        OP_REQUIRES_OK(ctx, ctx->GetAttr("pady0", &attr_.pady0));
        OP_REQUIRES_OK(ctx, ctx->GetAttr("pady1", &attr_.pady1));
        OP_REQUIRES(ctx, attr_.upx >= 1 && attr_.upy >= 1 && attr_.downx >= 1 && attr_.downy >= 1,
                    errors::InvalidArgument("UpFirDn2D: upx, upy, downx and downy must be >= 1"));
    }

  protected:
    // Validates the inputs and fills the kernel parameters (output shape included).
    Status Setup(OpKernelContext* ctx, vpdis::UpFirDn2DParams* p) const {
        const Tensor& x = ctx->input(0);
        const Tensor& k = ctx->input(1);
        if (x.dims() != 4)
            return errors::InvalidArgument("UpFirDn2D: x must have rank 4 [major, inH, inW, minor], got shape ",
                                           x.shape().DebugString());
        if (k.dims() != 2)
            return errors::InvalidArgument("UpFirDn2D: k must have rank 2 [kH, kW], got shape ",
                                           k.shape().DebugString());
        const int64_t kIntMax = std::numeric_limits<int>::max();
        for (int i = 0; i < 4; i++)
            if (x.dim_size(i) > kIntMax)
                return errors::InvalidArgument("UpFirDn2D: x is too large, shape ", x.shape().DebugString());
        *p = attr_;
        p->major = (int)x.dim_size(0);
        p->inH = (int)x.dim_size(1);
        p->inW = (int)x.dim_size(2);
        p->minor = (int)x.dim_size(3);
        p->kH = (int)k.dim_size(0);
        p->kW = (int)k.dim_size(1);
        const char* msg = vpdis::ufd_setup(p);
        if (msg)
            return errors::InvalidArgument("UpFirDn2D: ", msg, " (x shape ", x.shape().DebugString(), ", k shape ",
                                           k.shape().DebugString(), ", up ", p->upx, "x", p->upy, ", down ",
                                           p->downx, "x", p->downy, ", padx ", p->padx0, "/", p->padx1,
                                           ", pady ", p->pady0, "/", p->pady1, ")");
        return Status();
    }

    Status AllocateOutput(OpKernelContext* ctx, const vpdis::UpFirDn2DParams& p, Tensor** y) const {
        return ctx->allocate_output(0, TensorShape({p.major, p.outH, p.outW, p.minor}), y);
    }

    vpdis::UpFirDn2DParams attr_ = vpdis::UpFirDn2DParams();
};

// CPU kernel: the shared per-output function in a plain loop (sharded over the CPU worker threads).
template <class T>
class UpFirDn2DCpuOp : public UpFirDn2DOpBase {
  public:
    explicit UpFirDn2DCpuOp(OpKernelConstruction* ctx) : UpFirDn2DOpBase(ctx) {}

    void Compute(OpKernelContext* ctx) override {
        vpdis::UpFirDn2DParams p;
        OP_REQUIRES_OK(ctx, Setup(ctx, &p));
        Tensor* y = nullptr;
        OP_REQUIRES_OK(ctx, AllocateOutput(ctx, p, &y));
        const T* xp = ctx->input(0).flat<T>().data();
        const T* kp = ctx->input(1).flat<T>().data();
        T* yp = y->flat<T>().data();
        // Split across TF's CPU worker threads; an output costs about one multiply-add per contributing tap.
        const long long taps = ((long long)(p.kH + p.upy - 1) / p.upy) * ((p.kW + p.upx - 1) / p.upx);
        const auto* workers = ctx->device()->tensorflow_cpu_worker_threads();
        Shard(workers->num_threads, workers->workers, p.sizeY, /*cost_per_unit=*/20 + 4 * taps,
              [&](auto begin, auto end) {
                  for (long long i = begin; i < (long long)end; i++)
                      yp[i] = static_cast<T>(vpdis::ufd_output<T>(p, xp, kp, i));
              });
    }
};

REGISTER_KERNEL_BUILDER(Name("UpFirDn2D").Device(DEVICE_CPU).TypeConstraint<float>("T"), UpFirDn2DCpuOp<float>);
REGISTER_KERNEL_BUILDER(Name("UpFirDn2D").Device(DEVICE_CPU).TypeConstraint<Eigen::half>("T"),
                        UpFirDn2DCpuOp<Eigen::half>);

// GPU kernel (compiled whenever nvcc builds this file, which custom_ops.py always does).
#ifdef EIGEN_USE_GPU
template <class T>
class UpFirDn2DGpuOp : public UpFirDn2DOpBase {
  public:
    explicit UpFirDn2DGpuOp(OpKernelConstruction* ctx) : UpFirDn2DOpBase(ctx) {}

    void Compute(OpKernelContext* ctx) override {
        vpdis::UpFirDn2DParams p;
        OP_REQUIRES_OK(ctx, Setup(ctx, &p));
        Tensor* y = nullptr;
        OP_REQUIRES_OK(ctx, AllocateOutput(ctx, p, &y));
        cudaStream_t stream = ctx->eigen_device<Eigen::GpuDevice>().stream();
        const cudaError_t err = vpdis::upfirdn_2d_launch<T>(p, ctx->input(0).flat<T>().data(),
                                                            ctx->input(1).flat<T>().data(), y->flat<T>().data(), stream);
        OP_REQUIRES(ctx, err == cudaSuccess,
                    errors::Internal("UpFirDn2D: CUDA kernel launch failed: ", cudaGetErrorName(err), ": ",
                                     cudaGetErrorString(err)));
    }
};

REGISTER_KERNEL_BUILDER(Name("UpFirDn2D").Device(DEVICE_GPU).TypeConstraint<float>("T"), UpFirDn2DGpuOp<float>);
REGISTER_KERNEL_BUILDER(Name("UpFirDn2D").Device(DEVICE_GPU).TypeConstraint<Eigen::half>("T"),
                        UpFirDn2DGpuOp<Eigen::half>);
#endif  // EIGEN_USE_GPU
