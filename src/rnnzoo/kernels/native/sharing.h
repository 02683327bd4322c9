// Work that one thread owns and another may take part of: a range of items [first, end) that its
// owner runs step after step (rows of a batch through the steps of a recurrence, or panels of a
// weight gradient through its blocks of depth), each item's steps in order. Equal shares rarely
// take equal times: on a VM one core often runs markedly slower than the other for a while, and
// which one changes from call to call. So a thread done with its own items takes the later part of
// a slower thread's for the steps that one has not started.
//
// The owner reads `end` as it starts each step, under the lock; a taker moves `end` down and runs
// the items it took from the owner's next step on, once the owner has finished the step before
// (`done`, which orders the owner's writes for those items before the taker's reads). An item's
// steps run in the same order whoever runs them, so the results do not depend on who took what.

#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

namespace sharing {

struct Share {
  std::mutex lock;
  int64_t first = 0, end = 0;  // the owner's items
  int64_t granule = 1;         // the owner keeps a multiple of this many items
  int64_t min_items = 1, min_steps = 1;  // less is not worth a thread's wait
  int64_t started = -1;          // the step the owner started last
  std::atomic<int64_t> done{0};  // steps the owner has finished

  void own(int64_t from, int64_t to, int64_t keep_granule, int64_t fewest_items, int64_t fewest_steps) {
    first = from, end = to, granule = keep_granule, min_items = fewest_items, min_steps = fewest_steps;
  }
  int64_t start(int64_t step) {
    std::lock_guard<std::mutex> hold(lock);
    started = step;
    return end;
  }
  void finish(int64_t step) { done.store(step + 1, std::memory_order_release); }
  // Items x steps that give() would hand over now (0: too little left to share).
  int64_t left(int64_t steps) {
    std::lock_guard<std::mutex> hold(lock);
    const auto given = part(steps);
    return std::get<1>(given) * (steps - std::get<2>(given));
  }
  // Gives away the later items (about half, the owner keeping whole granules) for the steps from
  // the owner's next on: {first item, items, first step}, no items if too little is left to share.
  std::tuple<int64_t, int64_t, int64_t> give(int64_t steps) {
    std::lock_guard<std::mutex> hold(lock);
    const auto given = part(steps);
    if (std::get<1>(given) > 0) end = std::get<0>(given);
    return given;
  }
  std::tuple<int64_t, int64_t, int64_t> part(int64_t steps) const {  // under the lock
    const int64_t items = end - first, from = started + 1;
    const int64_t keep = (items / 2 + granule - 1) / granule * granule;
    if (steps - from < min_steps || items - keep < min_items) return {0, 0, 0};
    return {first + keep, items - keep, from};
  }
  void wait(int64_t step) const {  // until the owner has finished step - 1
    while (done.load(std::memory_order_acquire) < step) std::this_thread::yield();
  }
};

// Thread `me`'s part of the work, in a team of `team`: steps 0 .. steps-1 of its own shares' items
// (shares me, me + team, ...: a team may be smaller than the list of shares), then items taken from
// the others' shares, until none has enough left to share. run(k, from, to, i) runs step i of items
// [from, to) of share k.
template <typename Run>
void share_work(std::vector<Share>& shares, int64_t me, int64_t team, int64_t steps, const Run& run) {
  const int64_t count = static_cast<int64_t>(shares.size());
  for (int64_t own = me; own < count; own += team)
    for (int64_t i = 0; i < steps; ++i) {
      const int64_t end = shares[own].start(i);
      if (end > shares[own].first) run(own, shares[own].first, end, i);
      shares[own].finish(i);
    }
  while (true) {  // from the share with the most work left
    int64_t most = 0, victim = -1;
    for (int64_t k = 0; k < count; ++k)
      if (const int64_t left = shares[k].left(steps); k % team != me && left > most) most = left, victim = k;
    if (victim < 0) return;
    const auto [from, items, first] = shares[victim].give(steps);
    if (items == 0) continue;  // the owner moved on meanwhile: look again
    shares[victim].wait(first);
    for (int64_t i = first; i < steps; ++i) run(victim, from, from + items, i);
  }
}

// One share per thread of the team.
template <typename Run>
void share_work(std::vector<Share>& shares, int64_t me, int64_t steps, const Run& run) {
  share_work(shares, me, static_cast<int64_t>(shares.size()), steps, run);
}

}  // namespace sharing
