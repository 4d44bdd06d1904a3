// PyTorch's fused optimiser kernels (`_fused_adam_`, `_fused_sgd_`) for tch tensors, which tch does
// not wrap: one multi-threaded pass over every parameter, on CPU and CUDA alike.
#include <ATen/core/Tensor.h>
#include <ATen/ops/_fused_adam.h>
#include <ATen/ops/_fused_sgd.h>
#include <ATen/ops/full.h>

#include <cstring>
#include <exception>
#include <vector>

namespace {

// tch's tensor handles are `at::Tensor*` (torch-sys: `typedef torch::Tensor *tensor`).
std::vector<at::Tensor> tensors(void* const* handles, int count) {
  std::vector<at::Tensor> out;
  out.reserve(count);
  for (int i = 0; i < count; ++i) out.push_back(*static_cast<at::Tensor*>(handles[i]));
  return out;
}

// Writes `message` (NUL-terminated, cut to fit) into the caller's buffer; returns the failure code.
int report(const char* message, char* error, size_t error_len) {
  if (error != nullptr && error_len > 0) {
    std::strncpy(error, message, error_len - 1);
    error[error_len - 1] = '\0';
  }
  return 1;
}

// The caller (src/train/update.rs) checks that every list holds `count` handles; a negative
// count is refused here as well, since it would turn into a huge allocation.
bool valid_count(int count) { return count >= 0; }

}  // namespace

extern "C" int dldl_fused_adam(void* const* params, void* const* grads, void* const* exp_avgs,
                               void* const* exp_avg_sqs, int count, double step, double lr,
                               double beta1, double beta2, double weight_decay, double eps,
                               char* error, size_t error_len) {
  if (!valid_count(count)) return report("negative tensor count", error, error_len);
  try {
    auto p = tensors(params, count);
    // The kernel only reads the step count (PyTorch increments it before the call): one tensor serves all.
    std::vector<at::Tensor> steps;
    if (count > 0) steps.assign(count, at::full({}, step, p[0].options().dtype(at::kFloat)));
    at::_fused_adam_(p, tensors(grads, count), tensors(exp_avgs, count), tensors(exp_avg_sqs, count),
                     {}, steps, lr, beta1, beta2, weight_decay, eps, /*amsgrad=*/false,
                     /*maximize=*/false);
    return 0;
  } catch (const std::exception& e) {
    return report(e.what(), error, error_len);
  } catch (...) {
    // Nothing may unwind into Rust: any other exception becomes an error as well.
    return report("a C++ exception that is not a std::exception", error, error_len);
  }
}

extern "C" int dldl_fused_sgd(void* const* params, void* const* grads, void* const* momentum_buffers,
                              int count, double lr, double momentum, double weight_decay,
                              int is_first_step, char* error, size_t error_len) {
  if (!valid_count(count)) return report("negative tensor count", error, error_len);
  try {
    std::vector<at::Tensor> buffers;
    if (momentum > 0.0) buffers = tensors(momentum_buffers, count);
    at::_fused_sgd_(tensors(params, count), tensors(grads, count), buffers, weight_decay, momentum, lr,
                    /*dampening=*/0.0, /*nesterov=*/false, /*maximize=*/false, is_first_step != 0);
    return 0;
  } catch (const std::exception& e) {
    return report(e.what(), error, error_len);
  } catch (...) {
    // Nothing may unwind into Rust: any other exception becomes an error as well.
    return report("a C++ exception that is not a std::exception", error, error_len);
  }
}
