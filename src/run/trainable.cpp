#include "typenet/run/trainable.hpp"

#include "typenet/net/summary.hpp"

namespace typenet {

network_description describe(const network_facts& net) {
  network_description d{.input = net.input,
                        .output_size = net.output_size,
                        .parameter_count = net.parameter_count,
                        .summary = summary(net),
                        .signature = "input " + net.input.text(),
                        .layers = {net.layers.begin(), net.layers.end()}};
  for (const layer_facts& l : net.layers) d.signature += "; " + std::string(l.name) + " " + l.output_shape.text();
  return d;
}

std::vector<tensor_slot> state_dict_slots(std::span<const tensor_facts> tensors, std::span<float> parameters,
                                          std::span<float> buffers, std::span<std::int64_t> batches_tracked) {
  std::vector<tensor_slot> slots;
  slots.reserve(tensors.size());
  for (const tensor_facts& t : tensors) {
    tensor_slot s{std::to_string(t.layer) + "." + std::string(t.info.name),
                  {t.info.dims.begin(), t.info.dims.begin() + t.info.rank}, {}};
    switch (t.store) {
      case tensor_store::parameters: s.values = parameters.subspan(t.offset, t.info.size()); break;
      case tensor_store::buffers: s.values = buffers.subspan(t.offset, t.info.size()); break;
      case tensor_store::batches_tracked: s.values = batches_tracked.subspan(t.offset, 1); break;
    }
    slots.push_back(std::move(s));
  }
  return slots;
}

}  // namespace typenet
