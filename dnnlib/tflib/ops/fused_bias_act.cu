// TensorFlow op FusedBiasAct (vpdis): bias add + activation + gain in one pass, and its first and second
// derivatives. Built on first use by dnnlib/tflib/custom_ops.py (nvcc) and loaded with tf.load_op_library.
//
//   inputs : x   [any shape]  input (grad 0) or incoming gradient dy (grad 1, 2)
//            b   [0] or [x.shape[axis]]  bias, broadcast along `axis` (empty: no bias)
//            ref [0] (grad 0) or x's shape (grad 1, 2): forward output for every act but swish, the
//                pre-activation for swish
//   attrs  : grad 0|1|2, axis, act (1 linear, 2 relu, 3 lrelu, 4 tanh, 5 sigmoid, 6 elu, 7 selu,
//            8 softplus, 9 swish), alpha, gain
//   output : y, x's shape
// The arithmetic lives in fused_bias_act_kernel.cuh (shared with the CUDA harness). CPU kernels run the
// same per-element function on the host, so the op's arithmetic is testable without a GPU.

#define EIGEN_USE_THREADS
#ifdef __CUDACC__
#define EIGEN_USE_GPU
#endif

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/util/work_sharder.h"

#include "fused_bias_act_kernel.cuh"

using namespace tensorflow;

// ---------------------------------------------------------------------------------------------------------
// Registration.

REGISTER_OP("FusedBiasAct")
    .Input("x: T")
    .Input("b: T")
    .Input("ref: T")
    .Output("y: T")
    .Attr("T: {float, half}")
    .Attr("grad: int = 0")
    .Attr("axis: int = 1")
    .Attr("act: int = 0")
    .Attr("alpha: float = 0.0")
    .Attr("gain: float = 1.0")
    .SetShapeFn([](::tensorflow::shape_inference::InferenceContext* c) {
        c->set_output(0, c->input(0));
        return Status();
    });

// ---------------------------------------------------------------------------------------------------------
// Kernels. One base class reads the attributes and validates the inputs; the CPU and GPU kernels differ only
// in how they run the per-element function.

class FusedBiasActOpBase : public OpKernel {
  public:
    explicit FusedBiasActOpBase(OpKernelConstruction* ctx) : OpKernel(ctx) {
        OP_REQUIRES_OK(ctx, ctx->GetAttr("grad", &grad_));
        OP_REQUIRES_OK(ctx, ctx->GetAttr("axis", &axis_));
        OP_REQUIRES_OK(ctx, ctx->GetAttr("act", &act_));
        OP_REQUIRES_OK(ctx, ctx->GetAttr("alpha", &alpha_));
        OP_REQUIRES_OK(ctx, ctx->GetAttr("gain", &gain_));
        OP_REQUIRES(ctx, grad_ >= 0 && grad_ <= 2,
                    errors::InvalidArgument("FusedBiasAct: grad must be 0, 1 or 2, got ", grad_));
        OP_REQUIRES(ctx, act_ >= 1 && act_ <= 9,
                    errors::InvalidArgument("FusedBiasAct: act must be an activation code in 1..9 (1 linear, "
                                            "2 relu, 3 lrelu, 4 tanh, 5 sigmoid, 6 elu, 7 selu, 8 softplus, "
                                            "9 swish), got ", act_));
    }

  protected:
    // Validates the inputs and fills the kernel parameters.
    Status Setup(OpKernelContext* ctx, vpdis::FusedBiasActParams* p) const {
        const Tensor& x = ctx->input(0);
        const Tensor& b = ctx->input(1);
        const Tensor& ref = ctx->input(2);
        const int rank = x.dims();
        if (b.NumElements() > 0) {
            if (axis_ < 0 || axis_ >= rank)
                return errors::InvalidArgument("FusedBiasAct: axis ", axis_, " is out of range for x of shape ",
                                               x.shape().DebugString());
            if (b.dims() != 1 || b.NumElements() != x.dim_size(axis_))
                return errors::InvalidArgument("FusedBiasAct: b must be empty or a vector of x.shape[axis] "
                                               "elements: got b of shape ", b.shape().DebugString(),
                                               " for x of shape ", x.shape().DebugString(), " and axis ", axis_);
        }
        if (grad_ == 0) {
            if (ref.NumElements() != 0)
                return errors::InvalidArgument("FusedBiasAct: ref must be empty when grad == 0, got shape ",
                                               ref.shape().DebugString());
        } else if (ref.shape() != x.shape()) {
            return errors::InvalidArgument("FusedBiasAct: ref must have x's shape when grad > 0: x ",
                                           x.shape().DebugString(), ", ref ", ref.shape().DebugString());
        }
        long long stepB = 1;
        if (b.NumElements() > 0)
            for (int i = axis_ + 1; i < rank; i++) stepB *= x.dim_size(i);
        p->grad = grad_;
        p->act = act_;
        p->alpha = alpha_;
        p->gain = gain_;
        p->sizeX = x.NumElements();
        p->sizeB = (int)b.NumElements();
        p->stepB = stepB;
        p->hasRef = grad_ > 0 ? 1 : 0;
        return Status();
    }

    int grad_ = 0, axis_ = 1, act_ = 1;
    float alpha_ = 0.f, gain_ = 1.f;
};

// CPU kernel: the shared per-element function in a plain loop (sharded over the CPU worker threads).
template <class T>
class FusedBiasActCpuOp : public FusedBiasActOpBase {
  public:
    explicit FusedBiasActCpuOp(OpKernelConstruction* ctx) : FusedBiasActOpBase(ctx) {}

    void Compute(OpKernelContext* ctx) override {
        vpdis::FusedBiasActParams p;
        OP_REQUIRES_OK(ctx, Setup(ctx, &p));
        const Tensor& x = ctx->input(0);
        Tensor* y = nullptr;
        OP_REQUIRES_OK(ctx, ctx->allocate_output(0, x.shape(), &y));
        const T* xp = x.flat<T>().data();
        const T* bp = ctx->input(1).flat<T>().data();
        const T* rp = ctx->input(2).flat<T>().data();
        T* yp = y->flat<T>().data();
        // Split across TF's CPU worker threads; each element costs a few tens of cycles.
        const auto* workers = ctx->device()->tensorflow_cpu_worker_threads();
        Shard(workers->num_threads, workers->workers, p.sizeX, /*cost_per_unit=*/40, [&](auto begin, auto end) {
            for (long long i = begin; i < (long long)end; i++) vpdis::fba_element<T>(p, xp, bp, rp, yp, i);
        });
    }
};

REGISTER_KERNEL_BUILDER(Name("FusedBiasAct").Device(DEVICE_CPU).TypeConstraint<float>("T"),
                        FusedBiasActCpuOp<float>);
REGISTER_KERNEL_BUILDER(Name("FusedBiasAct").Device(DEVICE_CPU).TypeConstraint<Eigen::half>("T"),
                        FusedBiasActCpuOp<Eigen::half>);

// GPU kernel (compiled whenever nvcc builds this file, which custom_ops.py always does).
#ifdef EIGEN_USE_GPU
template <class T>
class FusedBiasActGpuOp : public FusedBiasActOpBase {
  public:
    explicit FusedBiasActGpuOp(OpKernelConstruction* ctx) : FusedBiasActOpBase(ctx) {}

    void Compute(OpKernelContext* ctx) override {
        vpdis::FusedBiasActParams p;
        OP_REQUIRES_OK(ctx, Setup(ctx, &p));
        const Tensor& x = ctx->input(0);
        Tensor* y = nullptr;
        OP_REQUIRES_OK(ctx, ctx->allocate_output(0, x.shape(), &y));
        cudaStream_t stream = ctx->eigen_device<Eigen::GpuDevice>().stream();
        const cudaError_t err = vpdis::fused_bias_act_launch<T>(
            p, x.flat<T>().data(), ctx->input(1).flat<T>().data(), ctx->input(2).flat<T>().data(),
            y->flat<T>().data(), stream);
        OP_REQUIRES(ctx, err == cudaSuccess,
                    errors::Internal("FusedBiasAct: CUDA kernel launch failed: ", cudaGetErrorName(err), ": ",
                                     cudaGetErrorString(err)));
    }
};

REGISTER_KERNEL_BUILDER(Name("FusedBiasAct").Device(DEVICE_GPU).TypeConstraint<float>("T"),
                        FusedBiasActGpuOp<float>);
REGISTER_KERNEL_BUILDER(Name("FusedBiasAct").Device(DEVICE_GPU).TypeConstraint<Eigen::half>("T"),
                        FusedBiasActGpuOp<Eigen::half>);
#endif  // EIGEN_USE_GPU
