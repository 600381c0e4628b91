package memstore

import (
	"testing"
	"unsafe"
)

// TestProviderLayout checks the padding of provider (see its fields): the
// 768-byte objects start on cache line boundaries once cluster has laid
// them out (elements of an array of more than 32 KB, which starts a page),
// and so must resInline and tp inside, with treeSize in tp's second line.
func TestProviderLayout(t *testing.T) {
	var p provider
	if size := unsafe.Sizeof(p); size != 768 {
		t.Errorf("provider is %d bytes, want 768", size)
	}
	if off := unsafe.Offsetof(p.resInline); off%64 != 0 {
		t.Errorf("resInline at offset %d, not a multiple of 64", off)
	}
	if off := unsafe.Offsetof(p.tp); off%64 != 0 {
		t.Errorf("tp at offset %d, not a multiple of 64", off)
	}
	if off, tp := unsafe.Offsetof(p.treeSize), unsafe.Offsetof(p.tp); off+unsafe.Sizeof(p.treeSize) > tp+128 {
		t.Errorf("treeSize at offset %d, past tp's two lines from %d", off, tp)
	}
}
