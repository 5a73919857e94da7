package lease

import "container/heap"

// leaseHeap orders the primary's leases by expiry, earliest first. Each
// lease knows its index, so a renewal moves it in O(log n).
type leaseHeap struct{ items []*Lease }

func (h *leaseHeap) Len() int           { return len(h.items) }
func (h *leaseHeap) Less(i, j int) bool { return h.items[i].expiry.Before(h.items[j].expiry) }

func (h *leaseHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].heapIdx = i
	h.items[j].heapIdx = j
}

func (h *leaseHeap) Push(x any) {
	l := x.(*Lease)
	l.heapIdx = len(h.items)
	h.items = append(h.items, l)
}

func (h *leaseHeap) Pop() any {
	n := len(h.items) - 1
	l := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	l.heapIdx = -1
	return l
}

// update inserts l or moves it after its expiry changed.
func (h *leaseHeap) update(l *Lease) {
	if l.heapIdx < 0 {
		heap.Push(h, l)
		return
	}
	heap.Fix(h, l.heapIdx)
}

// Remove takes l out, if it is in.
func (h *leaseHeap) remove(l *Lease) {
	if l.heapIdx >= 0 {
		heap.Remove(h, l.heapIdx)
	}
}

// peek returns the earliest lease, or nil.
func (h *leaseHeap) peek() *Lease {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

// clear empties the heap.
func (h *leaseHeap) clear() {
	for _, l := range h.items {
		l.heapIdx = -1
	}
	h.items = nil
}
