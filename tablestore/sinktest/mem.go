package sinktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"

	"github.com/hdfsha/hdfsha/tablestore"
)

// Mem is an in-memory sink for tests of the sink's users. It passes Run,
// stores batches and the identity in their encoded form (so it checks
// them on read like a real sink), and can damage a stored batch
// (CorruptEdits) to test that corruption is detected and named. Safe for
// concurrent use.
type Mem struct {
	mu struct {
		sync.Mutex
		closed bool
		info   []byte
		edits  map[int64][]byte
		images map[int64][]byte
	}
}

var _ tablestore.Sink = (*Mem)(nil)

// NewMem returns an empty in-memory sink.
func NewMem() *Mem {
	m := &Mem{}
	m.mu.edits = make(map[int64][]byte)
	m.mu.images = make(map[int64][]byte)
	return m
}

func memEditsObject(first int64) string { return fmt.Sprintf("edits/%019d", first) }

// String names the sink.
func (m *Mem) String() string { return fmt.Sprintf("mem://%p", m) }

// Close marks the sink closed; later calls fail.
func (m *Mem) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.closed = true
	return nil
}

func (m *Mem) checkLocked(ctx context.Context) error {
	if m.mu.closed {
		return errors.New("sinktest: mem sink closed")
	}
	return ctx.Err()
}

// CorruptEdits flips one byte of the stored batch whose key is first; it
// reports whether there was one.
func (m *Mem) CorruptEdits(first int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.mu.edits[first]
	if ok {
		d = bytes.Clone(d)
		d[len(d)/2] ^= 0x40
		m.mu.edits[first] = d
	}
	return ok
}

// Keys returns the stored batches' keys, ascending.
func (m *Mem) Keys() []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.mu.edits))
}

func (m *Mem) PutInfo(ctx context.Context, info tablestore.Info) error {
	if err := tablestore.CheckInfo(info); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkLocked(ctx); err != nil {
		return err
	}
	if m.mu.info == nil {
		m.mu.info = tablestore.EncodeInfo(info)
		return nil
	}
	have, err := tablestore.DecodeInfo(m.mu.info)
	if err != nil {
		return tablestore.NewCorruptError(m.String(), "info", err)
	}
	return tablestore.SameInfo(m.String(), have, info)
}

func (m *Mem) GetInfo(ctx context.Context) (tablestore.Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkLocked(ctx); err != nil {
		return tablestore.Info{}, err
	}
	if m.mu.info == nil {
		return tablestore.Info{}, tablestore.ErrNotFound
	}
	info, err := tablestore.DecodeInfo(m.mu.info)
	if err != nil {
		return tablestore.Info{}, tablestore.NewCorruptError(m.String(), "info", err)
	}
	return info, nil
}

func (m *Mem) PutEdits(ctx context.Context, b tablestore.Batch) error {
	if err := tablestore.CheckBatch(b); err != nil {
		return err
	}
	data := tablestore.EncodeBatch(b)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkLocked(ctx); err != nil {
		return err
	}
	if _, ok := m.mu.edits[b.First]; ok {
		return fmt.Errorf("%s %s: %w", m, memEditsObject(b.First), tablestore.ErrExists)
	}
	m.mu.edits[b.First] = data
	return nil
}

func (m *Mem) decode(first int64, data []byte) (tablestore.Batch, error) {
	b, err := tablestore.DecodeBatch(data)
	if err == nil && b.First != first {
		err = fmt.Errorf("holds the batch of txid %d", b.First)
	}
	if err != nil {
		return tablestore.Batch{}, tablestore.NewCorruptError(m.String(), memEditsObject(first), err)
	}
	return b, nil
}

func (m *Mem) LastTxID(ctx context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkLocked(ctx); err != nil {
		return 0, err
	}
	if len(m.mu.edits) == 0 {
		return 0, nil
	}
	k := slices.Max(slices.Collect(maps.Keys(m.mu.edits)))
	b, err := m.decode(k, m.mu.edits[k])
	if err != nil {
		return 0, err
	}
	return b.Last(), nil
}

// ReadEdits reads a snapshot of the keys taken when it starts; fn runs
// without the lock held.
func (m *Mem) ReadEdits(ctx context.Context, from int64, fn func(tablestore.Batch) error) error {
	m.mu.Lock()
	if err := m.checkLocked(ctx); err != nil {
		m.mu.Unlock()
		return err
	}
	keys := slices.Sorted(maps.Keys(m.mu.edits))
	data := make([][]byte, len(keys))
	for i, k := range keys {
		data[i] = m.mu.edits[k]
	}
	m.mu.Unlock()
	for i, k := range keys {
		if i+1 < len(keys) && keys[i+1] <= from {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := m.decode(k, data[i])
		if err != nil {
			return err
		}
		if b.Last() < from {
			continue
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

func (m *Mem) PutImage(ctx context.Context, txid int64, r io.Reader) error {
	if txid < 0 {
		return fmt.Errorf("sinktest: image txid %d is negative", txid)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("sinktest: read image %d: %w", txid, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkLocked(ctx); err != nil {
		return err
	}
	if _, ok := m.mu.images[txid]; ok {
		return fmt.Errorf("%s image %d: %w", m, txid, tablestore.ErrExists)
	}
	m.mu.images[txid] = data
	return nil
}

func (m *Mem) Images(ctx context.Context) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkLocked(ctx); err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(m.mu.images)), nil
}

func (m *Mem) OpenImage(ctx context.Context, txid int64) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkLocked(ctx); err != nil {
		return nil, err
	}
	data, ok := m.mu.images[txid]
	if !ok {
		return nil, fmt.Errorf("%s image %d: %w", m, txid, tablestore.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}
