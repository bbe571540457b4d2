"""Profiling notes for docs/benchmarks.md (kept by hand; the tables above them are generated).

Update this text when a profile changes: it is what the numbers do not say on their own.
"""

FINDINGS = """
## Findings

Measured with `pyinstrument` and with variants of the hot path timed side by side
(`race()` in `benchmarks/_harness.py`), and for the compiled build with `perf` and by reading
the C that mypyc generates; numbers below are from the development machine (2 shared cores,
noisy), so read them as proportions.

### Round 2: the compiled core, and the goals it misses

The tables show each build's own ratios (the compiled run and the pure-Python run are separate
processes; every ratio is taken within one). `python3 dev.py bench` runs both; see
`docs/compiled.md` for which modules are compiled.

* **`get` (compiled: 1.53x `dict.get` and 0.95x cachebox in the tables' run, 1.47x and 1.02x
  in the run before it with the same `get`, 1.15-1.25x cachebox in quick runs; goals 1.5x and
  1.0x: both sit on their line, within this machine's run-to-run noise).** Each pool's
  `get` is the core's bound method (`PoolCore.get`): compiled, a C method called through
  vectorcall. Measured side by side in one compiled module (100k residents, shuffled reads,
  `dict.get` = 94 ns): the round-2 closure with an `itertools.count` stamp 227-249 ns; the same
  closure with a native-int stamp 191-202 ns; a bound method with the native stamp 164-171 ns;
  cachebox 180-193 ns. So two changes: the method instead of the closure (whose captured
  variables sit in an environment object), and the recency epoch as a native `int` bumped in
  place (`CommitPath.stamp`), which allocates nothing (the `count` allocated an `int` per hit
  and freed the previous, cold one). Exactness across threads holds: compiled code has no
  point between that read and write where the GIL passes to another thread; pure Python keeps
  the `count`. What is left against `dict.get` and cachebox is the `Entry` itself: a second
  dependent, random memory access per read (`dict` slot -> `Entry` -> value, where `dict.get`
  goes slot -> value). On shuffled reads of 100k residents that is the gap; removing it means
  keeping values in the map and the recency/deadline elsewhere, where the stamp would cost the
  same access again, so the Rust goal stays missed.
* **`insert` (compiled 0.86x cachetools' `LRUCache.__setitem__` in the tables' run, 0.80x in
  the run before, met; 1.1-1.2x in quick runs; goal 1.0x).** The pool's
  `insert` is the core's bound method too (`PoolCore.insert` -> `CommitPath.insert_one`): no
  `CommitResult`, the clock read only when a deadline is involved, config copied into native
  attributes, no `int` allocated for the epoch, and the lock's `acquire`/`release` bound once.
  Timed in one compiled module, an `RLock` `acquire`/`release` pair around a trivial body
  costs ~75-95 ns with the methods bound once and ~120 ns looked up per call: that pair is
  what the quick runs still show between the two. cachetools takes no lock; `Punnu.insert` must be thread-safe
  (SPEC 4), so this cost stays. The rest is the `Entry` and the two dense-list slots that make
  sampled eviction O(1) and scans a list copy.
* **`insert` into a full pool (the "evicting" rows; no goal).** Each such insert also picks a
  sampled-LRU victim and removes it. Two changes late in round 2, measured side by side
  (compiled, 20,000 inserts at capacity 2,000, best of 15, ratio to cachetools' evicting
  `__setitem__` loop in the same process): ~3.3x -> ~1.6x (the tables' run before them: 7.4x).
  `pick_victim` kept its drawn positions in a list, so compiled code boxed every position
  into a Python `int`, searched the list generically and appended: ~1.6 µs a victim, against
  ~0.25 µs for its five `random()` calls; with the positions in four plain ints (compared
  natively) and `draw` typed as `Random.random`, ~0.5 µs. And an insert built an
  `Invalidated(id, LRU_EVICT)` per victim even with nobody to receive it (a frozen
  dataclass: ~0.3-0.6 µs); it now only counts the eviction then (`stats().evictions`), like
  `Inserted` events, which were already built only for a subscriber. What is left against
  cachetools is sampling itself (five random reads of `keys[pos]` and their entries, where an
  `OrderedDict`-style LRU pops its head): the price of a `get` that writes one int instead of
  relinking a list.
* **`apply_delta` into an empty pool (compiled ~0.8-1.2x the cachetools loop, see the insert
  table; goal 1.0x) and its flatness (goal: 1M within 1.5x of 10k).** The batch is normalised
  in compiled code (`sassi/_batch.py`); ids that arrive strictly ascending (a database delta)
  skip the dedupe dict and the sort; a commit into a pool with room and no subscriber counts
  its survivors instead of keeping them by id, and `apply_delta` keeps no `stored` map. What
  grows with size is memory traffic: at 1M residents the map, the two dense lists and a
  million `Entry` objects no longer fit any cache, and the per-item cost rises the way the
  cachetools loop's does (compare the two in the scaling and insert tables).
* **Indexed query against a handwritten comprehension over exactly its candidates (met,
  compiled 1.52x for 114 candidates, 1.73x for 1,645 in the tables' run, 1.40x and 1.75x in
  the run before; goal 2x; round 2 started at 3-4x).** The
  indexes now file the store's `Entry` objects themselves (`bucket: value -> entry | {id:
  entry}`; the store hands its observers entries, each write the new one, replaced in place
  when the indexed field kept its value). A lookup returns entries, so a candidate costs no
  probe of the pool's map. The order contract (a scope's rows come in pool order, indexed or
  not) is kept without a sort in the common case: a bucket's dict keeps its entries in filing
  order, which is pool order until swap-removes or moves between buckets shuffle it, and the
  candidates are read in one pass that checks their positions ascend; only when they do not
  (or several buckets were merged, e.g. a range) are the positions sorted (timsort over
  buckets that are each mostly ascending). Profile of the 1,645-candidate range before
  (compiled, µs per query): plan + id-set build 66-108, map probe per id 100-180, positions
  60-100, sort 115-166, gather 37-60, the re-check 80-140. After: plan (entries collected)
  25-30, materialising the values 115-130 (sort included), the re-check 80. The planner also
  walks a composite index once (the walk that estimates is the one that looks up) and reads
  the `IndexSet` without an ABC `isinstance`; what is left for 114 candidates is ~6 µs of
  planning (a few µs of Python-object attribute reads on the predicate leaves) over ~8 µs of
  handwritten work.
* **`F.id == k` (no index) and composite two-field queries against a scan.** An id term is
  answered from the pool's map: a few µs of planning and one probe, against a scan of every
  resident. The composite `(org, age)` query reads one child of the index tree (about 110
  candidates of 200k) and now costs what those candidates cost plus ~6 µs of planning: 335x
  a scan in the tables' run, 285x in the run before (goal 200x; it was 173x before the
  indexes held entries).
* **Scans.** Scopes now generate their scan with the model's annotations in mind: fields
  annotated without `None` (`name: str`) drop their `is None` guards where the unguarded test
  raises on `None` (a value breaking its annotation takes the generated code's fallback, so
  results do not change). The 3-term scan stays within a few percent of the handwritten
  comprehension in both builds (the comprehension is generated Python, not compiled by mypyc).

**Reading the tables.** The machine these numbers come from is shared and its caches are small
for the data: reading 100k entries in shuffled order costs `dict.get` ~330 ns per read, against
~40 ns when the same ids are read in order. A shuffled read is dominated by cache misses, so every
extra pointer a cache follows shows up; the ratios are what carry over to other machines.

### `get` against `dict.get` and `cachebox`

(Round 1, pure Python; the compiled `get` of round 2 is above.) `Punnu.get` was then a Python
closure (installed per pool when no metrics hook was set): one dict lookup, a deadline check skipped for entries without a deadline, and a recency
stamp. Breakdown, per read of 100k residents (same machine, same run; "warm" reads the ids in
order, "cold" in shuffled order):

| variant | warm | cold |
|---|---:|---:|
| `dict.get` | 43 ns | 414 ns |
| `cachebox.LRUCache.get` (Rust) | 114 ns | 390 ns |
| `Punnu.get` (slotted `Entry` + `next(counter)` stamp) | 153 ns | 736 ns |
| the same closure without the stamp | 112 ns | 650 ns |
| the first design: 4-item `list` entry + stamp | 175 ns | 949 ns |
| a slotted `Entry` built in one loop + stamp | 158 ns | 755 ns |

* The floor is the interpreter call itself: a Python-level function costs ~70 ns more than a C
  method on a warm cache, so "no slower than cachebox" (a Rust extension) is out of reach for
  pure Python; with cold caches both are bound by memory and the gap is what `get` touches.
* The first store kept each entry as a 4-item `list`: the dict slot points to the list header,
  which points to a separate item array, two dependent loads before the value. Profiling this
  led to the slotted `Entry(value, epoch, deadline, pos)` in `sassi/_store.py` (fields inline,
  one load, 24 bytes smaller): cold reads went from ~950 to ~740 ns and memory per entry under
  the 1.5x goal.
* The recency stamp `entry.epoch = next(counter)` allocates an `int` and frees the previous
  one, whose memory is cold: ~40 ns warm, ~90 ns cold. Keeping epochs in an `array('q')` indexed
  by `pos` avoids the allocation but adds a random write into a second array; it helped warm
  reads and hurt cold ones in our runs, so we did not adopt it. What remains between `get` and
  2x `dict.get` on cold reads is this stamp plus the entry load.

### Memory per entry

Per resident, the pool adds to what a `dict` holds: the slotted `Entry` (72 bytes with its GC
header, its id included since round 2 so indexes can hold entries), two `int` objects (epoch and position, 28-32 bytes each) and one slot in each of the two
dense lists (`keys`, `values`) used for O(1) sampling and fast snapshots. A TTL adds the deadline
`float` and a heap row; two indexes add a dict slot per field plus a reverse-map slot
(single-entry buckets are stored bare, not as one-element dicts; the ordered part of an index is
only built by the first range query, so it is absent from this table).

### Scans

The pool's scan is the predicate compiled to one generated list comprehension
(`sassi.predicate._codegen.compile_scan`): attribute loads inline, operands hoisted as constants,
`frozenset` for `in_`, a cheap `is not None` guard per term. It runs within a few percent
of the handwritten comprehension; `scope().collect()` adds the snapshot copy of the
resident list (under the write lock). Calling the compiled predicate once per row costs a
Python call per row (~1.6x). TinyDB evaluates a tree of Python query objects per document and
is measured on a 20k-row subset because a full run would dominate the suite.

### Indexed queries

An indexed `==` over 200k residents takes ~8 µs end to end (plan, candidate lookup, putting the
candidates in pool order, re-checking the whole predicate on them, running the scope's ops),
against ~10 ms for the scan: three orders of magnitude. Before `Plan.explain` became lazy the
query path rendered the predicate's `repr` on every call (~30% of the time). Narrow ranges cost a
few µs more (walking the sorted keys of the range). The ordered part of an index is built on the
first range query, so fields only queried with `==`/`in_` pay only for the hash map on insert.

Selectivity decides everything else. A scan reads the residents in memory order (~50-100 ns a
row, prefetch-friendly); every index candidate costs a few random memory accesses (bucket, entry,
value) — ~1-2 µs each on this machine. The forced-index rows of the table put the break-even
between 1% (index ~2x faster) and 5% (index ~2x slower) of the residents, so the planner uses an
index only when its estimate is at most 2% of them (`sassi._index.SELECTIVITY_LIMIT`) and scans
otherwise; `scope.explain()` says which. Pools of at most 512 residents use any applicable
index (`SMALL_POOL`): both paths take microseconds there. Before this was measured the limit was 25%, which made
broad range queries up to 10x slower than a scan.

### Inserts

(Round 1, pure Python; round 2 is above.) A `Punnu.insert` takes the write lock, checks the conflict
policy, stamps recency, builds and publishes an `Inserted` event and checks capacity; the profile
is spread over `_commit_one` (~40% self time), `Store.put` and `_publish`. Each index adds a
hash-map update (~0.6 µs here; ordered upkeep only once a range query has built it). Under
eviction pressure an insert roughly doubles: half of the extra time is `pick_victim`, which
samples 5 random residents, each a read of `keys[pos]` and then a dict probe for its `Entry`
(two cold reads per sample); keeping the `Entry` objects in the dense list that sampling reads
would save the probe. Bulk loads should use `apply_delta(Delta(items=...))`, one commit for the
whole batch.

### Batched loading

1,000 resolver tasks each awaiting `loader.load(id)` for a different cold id: the loader makes
one fetcher call where `aget_or_fetch` per id makes 1,000, so with a 1 ms round trip per call it
finishes ~6x sooner (the per-id fetches overlap on one event loop; against a real database
pool they would queue). Against aiodataloader, which keeps only a dict of futures, the loader
costs ~1.5-2.5x the time on this machine (it moves with the load; ~20 ms against ~9-15 ms
per burst). Timed in phases (same machine, fetcher without latency, best of 30): from the first
load to the batch call, 9.5 ms against 5.3 ms — of which 7.4 ms is asyncio creating and running
the 1,000 resolver tasks, which both pay — and from the batch call to the last result, 6.2 ms
against 2.7 ms. The extra is what the loader does on top: each load reads L1 and files its id in
the single-flight registry shared with `aget_or_fetch` (so a concurrent `aget_or_fetch(id)`
joins the batch), each waiter wakes through an anyio event, and the batch validates every value
(`checked_id`) and inserts the 1,000 values in one commit (~2.5 ms, the same as
`aget_or_fetch_many`), after which they are cached: a second burst is all L1 hits.
"""
