// Package shard splits a fleet into N stable shares by a hash of each
// host's inventory name (--shard K/N): the shares partition any
// selection, and a host keeps its share when others come and go. It
// imports nothing of remedy's, so the merge of shards' results can check
// them without the SSH code.
package shard

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Shard is a --shard K/N: the K-th of N shares of the selected hosts, K
// counted from 1. The zero value selects every host.
type Shard struct {
	K, N int
}

// Parse reads "K/N" with 1 <= K <= N; "" is no shard.
func Parse(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	k, n, ok := strings.Cut(s, "/")
	kk, errK := strconv.Atoi(k)
	nn, errN := strconv.Atoi(n)
	if !ok || errK != nil || errN != nil || nn < 1 || kk < 1 || kk > nn {
		return Shard{}, fmt.Errorf("--shard %q: want K/N with 1 <= K <= N, such as 2/3", s)
	}
	return Shard{K: kk, N: nn}, nil
}

// String is "K/N", or "" for no shard.
func (s Shard) String() string {
	if s.N == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.K, s.N)
}

// Holds says whether the host named name (its inventory name) is in the
// shard. A host's shard depends on its name and N alone, not on which
// other hosts are selected: a host stays in its shard when hosts are
// added or removed, and the N shards split any selection exactly (each
// host in one shard). The hash is SHA-256, so another tool can place a
// host the same way: the first 8 bytes of sha256(name), big-endian,
// modulo N, plus 1, is its K.
func (s Shard) Holds(name string) bool {
	if s.N == 0 {
		return true
	}
	return Of(name, s.N) == s.K
}

// Of is the shard (1 to n) that holds the host named name.
func Of(name string, n int) int {
	sum := sha256.Sum256([]byte(name))
	return int(binary.BigEndian.Uint64(sum[:8])%uint64(n)) + 1
}
