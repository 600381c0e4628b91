//go:build cgo

package sqlstore

// sqliteVFS is the SQLite VFS OpenSQLite uses: the default (unix) VFS,
// except that the writes of a connection to its WAL file are gathered and
// handed to the operating system in one write.
//
// SQLite writes each WAL frame (one changed page) with two system calls,
// its 24-byte header and the page, so a commit of eight pages cost sixteen
// pwrite calls: on a virtual machine where a system call costs a couple of
// microseconds, a quarter of a claim's time. The frames of a transaction
// are written at consecutive offsets, so they can go out as one pwrite.
//
// They go out before anything could need them in the file:
//   - before SQLite publishes a commit (it writes the new WAL-index header
//     in shared memory in two copies with a memory barrier between them,
//     xShmBarrier on the connection's database file, and readers of every
//     process accept a header only when both copies agree, so a commit is
//     never visible before its frames are in the file), and before any
//     shared-memory lock changes (xShmLock) or database file lock changes;
//   - before the connection itself reads, syncs, truncates or sizes the
//     WAL file, or closes it;
//   - when a write does not follow the gathered ones, or they would not fit.
//
// The commit reaches the operating system before COMMIT returns, as
// before, so durability is unchanged: with synchronous=NORMAL a commit
// survives a killed process, and with FULL SQLite still syncs the WAL at
// every commit (after the gathered frames are written).
//
// Only a WAL file knows of this (its database file is found with
// sqlite3_database_file_object); other files pass straight through. One
// connection uses its files from one thread at a time, so no locking is
// needed.

/*
#include <stdlib.h>
#include <string.h>

// Declarations from sqlite3.h (stable ABI of the public VFS interface),
// the functions being those of github.com/mattn/go-sqlite3's SQLite.
typedef long long int sqlite3_int64;
typedef struct sqlite3_file sqlite3_file;
typedef struct sqlite3_io_methods sqlite3_io_methods;
typedef struct sqlite3_vfs sqlite3_vfs;
typedef void (*sqlite3_syscall_ptr)(void);
struct sqlite3_file { const sqlite3_io_methods *pMethods; };
struct sqlite3_io_methods {
  int iVersion;
  int (*xClose)(sqlite3_file*);
  int (*xRead)(sqlite3_file*, void*, int iAmt, sqlite3_int64 iOfst);
  int (*xWrite)(sqlite3_file*, const void*, int iAmt, sqlite3_int64 iOfst);
  int (*xTruncate)(sqlite3_file*, sqlite3_int64 size);
  int (*xSync)(sqlite3_file*, int flags);
  int (*xFileSize)(sqlite3_file*, sqlite3_int64 *pSize);
  int (*xLock)(sqlite3_file*, int);
  int (*xUnlock)(sqlite3_file*, int);
  int (*xCheckReservedLock)(sqlite3_file*, int *pResOut);
  int (*xFileControl)(sqlite3_file*, int op, void *pArg);
  int (*xSectorSize)(sqlite3_file*);
  int (*xDeviceCharacteristics)(sqlite3_file*);
  int (*xShmMap)(sqlite3_file*, int iPg, int pgsz, int, void volatile**);
  int (*xShmLock)(sqlite3_file*, int offset, int n, int flags);
  void (*xShmBarrier)(sqlite3_file*);
  int (*xShmUnmap)(sqlite3_file*, int deleteFlag);
  int (*xFetch)(sqlite3_file*, sqlite3_int64 iOfst, int iAmt, void **pp);
  int (*xUnfetch)(sqlite3_file*, sqlite3_int64 iOfst, void *p);
};
struct sqlite3_vfs {
  int iVersion;
  int szOsFile;
  int mxPathname;
  sqlite3_vfs *pNext;
  const char *zName;
  void *pAppData;
  int (*xOpen)(sqlite3_vfs*, const char *zName, sqlite3_file*, int flags, int *pOutFlags);
  int (*xDelete)(sqlite3_vfs*, const char *zName, int syncDir);
  int (*xAccess)(sqlite3_vfs*, const char *zName, int flags, int *pResOut);
  int (*xFullPathname)(sqlite3_vfs*, const char *zName, int nOut, char *zOut);
  void *(*xDlOpen)(sqlite3_vfs*, const char *zFilename);
  void (*xDlError)(sqlite3_vfs*, int nByte, char *zErrMsg);
  void (*(*xDlSym)(sqlite3_vfs*,void*, const char *zSymbol))(void);
  void (*xDlClose)(sqlite3_vfs*, void*);
  int (*xRandomness)(sqlite3_vfs*, int nByte, char *zOut);
  int (*xSleep)(sqlite3_vfs*, int microseconds);
  int (*xCurrentTime)(sqlite3_vfs*, double*);
  int (*xGetLastError)(sqlite3_vfs*, int, char *);
  int (*xCurrentTimeInt64)(sqlite3_vfs*, sqlite3_int64*);
  int (*xSetSystemCall)(sqlite3_vfs*, const char *zName, sqlite3_syscall_ptr);
  sqlite3_syscall_ptr (*xGetSystemCall)(sqlite3_vfs*, const char *zName);
  const char *(*xNextSystemCall)(sqlite3_vfs*, const char *zName);
};
extern sqlite3_vfs *sqlite3_vfs_find(const char *zVfsName);
extern int sqlite3_vfs_register(sqlite3_vfs*, int makeDflt);
extern sqlite3_file *sqlite3_database_file_object(const char*);
extern void *sqlite3_malloc64(unsigned long long);
extern void sqlite3_free(void*);
extern int sqlite3_libversion_number(void);

#define SQLITE_OK           0
#define SQLITE_ERROR        1
#define SQLITE_IOERR       10
#define SQLITE_OPEN_WAL     0x00080000

#define WALBUF_SIZE (256*1024)

typedef struct wbFile wbFile;
struct wbFile {
  sqlite3_file base;
  sqlite3_file *real;  // the underlying file, just after this struct
  int isWal;           // a WAL file whose writes are gathered
  wbFile *db;          // a WAL file: its connection's database file
  wbFile *wal;         // a database file: its connection's WAL file
  char *buf;           // a WAL file: gathered writes
  int n;               // bytes in buf
  int commit;          // the last write was the header of a commit frame
  sqlite3_int64 off;   // file offset of buf[0]
};

static sqlite3_vfs *wbReal;
static sqlite3_vfs wbVfs;
static sqlite3_io_methods wbIo;

#define REAL(p) (((wbFile*)(p))->real)
#define RM(p) (REAL(p)->pMethods)

// wbFlush writes out the gathered writes of a WAL file; on failure they
// stay, and the error comes back from every later operation that flushes.
//
// It writes in pieces of at most WALBUF_CHUNK bytes: the unix VFS's xWrite
// silently truncates a write of 128 KiB or more (SQLite itself never asks
// for one) and reports the short write as SQLITE_FULL.
#define WALBUF_CHUNK (64*1024)
static int wbFlush(wbFile *f){
  int rc, done = 0;
  if( f==0 || f->n==0 ) return SQLITE_OK;
  while( done<f->n ){
    int k = f->n-done;
    if( k>WALBUF_CHUNK ) k = WALBUF_CHUNK;
    rc = f->real->pMethods->xWrite(f->real, f->buf+done, k, f->off+done);
    if( rc!=SQLITE_OK ){
      // Keep what is not written yet, for the next flush.
      memmove(f->buf, f->buf+done, f->n-done);
      f->n -= done;
      f->off += done;
      return rc;
    }
    done += k;
  }
  f->n = 0;
  return SQLITE_OK;
}

// wbFlushDb flushes the WAL file of a database file's connection.
static int wbFlushDb(sqlite3_file *p){ return wbFlush(((wbFile*)p)->wal); }
// wbFlushSelf flushes a WAL file (no-op for other files).
static int wbFlushSelf(sqlite3_file *p){ wbFile *f = (wbFile*)p; return f->isWal ? wbFlush(f) : SQLITE_OK; }

static int wbClose(sqlite3_file *p){
  wbFile *f = (wbFile*)p;
  int rc = wbFlushSelf(p);
  if( f->db && f->db->wal==f ) f->db->wal = 0;
  if( f->wal && f->wal->db==f ){ wbFlush(f->wal); f->wal->db = 0; }
  sqlite3_free(f->buf);
  f->buf = 0;
  int rc2 = RM(p)->xClose(REAL(p));
  return rc ? rc : rc2;
}
static int wbRead(sqlite3_file *p, void *b, int n, sqlite3_int64 o){
  int rc = wbFlushSelf(p); if( rc ) return rc;
  return RM(p)->xRead(REAL(p), b, n, o);
}
static int wbWrite(sqlite3_file *p, const void *b, int n, sqlite3_int64 o){
  wbFile *f = (wbFile*)p;
  int rc;
  if( !f->isWal ) return RM(p)->xWrite(REAL(p), b, n, o);
  if( f->n>0 && (o!=f->off+f->n || f->n+n>WALBUF_SIZE || f->db==0) ){
    rc = wbFlush(f); if( rc ) return rc;
  }
  if( f->buf==0 && f->db ) f->buf = sqlite3_malloc64(WALBUF_SIZE);
  if( f->buf==0 || f->db==0 || n>WALBUF_SIZE ){
    f->commit = 0;
    return RM(p)->xWrite(REAL(p), b, n, o);
  }
  if( f->n==0 ) f->off = o;
  memcpy(f->buf+f->n, b, n);
  f->n += n;
  if( f->commit ){
    // The page of a commit frame: the transaction's frames are all here.
    // Write them now, so that a failure is reported to the commit (by
    // this call), before SQLite publishes it.
    f->commit = 0;
    return wbFlush(f);
  }
  // A frame header (24 bytes; the file header is 32) whose second word,
  // the database size after a commit, is not 0 starts a commit frame.
  if( n==24 ){
    const unsigned char *h = b;
    f->commit = (h[4]|h[5]|h[6]|h[7])!=0;
  }
  return SQLITE_OK;
}
static int wbTruncate(sqlite3_file *p, sqlite3_int64 s){
  int rc = wbFlushSelf(p); if( rc ) return rc;
  return RM(p)->xTruncate(REAL(p), s);
}
static int wbSync(sqlite3_file *p, int fl){
  int rc = wbFlushSelf(p); if( rc ) return rc;
  return RM(p)->xSync(REAL(p), fl);
}
static int wbFileSize(sqlite3_file *p, sqlite3_int64 *s){
  int rc = wbFlushSelf(p); if( rc ) return rc;
  return RM(p)->xFileSize(REAL(p), s);
}
static int wbLock(sqlite3_file *p, int l){
  int rc = wbFlushDb(p); if( rc ) return rc;
  return RM(p)->xLock(REAL(p), l);
}
static int wbUnlock(sqlite3_file *p, int l){
  int rc = wbFlushDb(p); if( rc ) return rc;
  return RM(p)->xUnlock(REAL(p), l);
}
static int wbCheckReservedLock(sqlite3_file *p, int *r){ return RM(p)->xCheckReservedLock(REAL(p), r); }
static int wbFileControl(sqlite3_file *p, int op, void *a){
  int rc = wbFlushSelf(p); if( rc ) return rc;
  return RM(p)->xFileControl(REAL(p), op, a);
}
static int wbSectorSize(sqlite3_file *p){ return RM(p)->xSectorSize(REAL(p)); }
static int wbDeviceCharacteristics(sqlite3_file *p){ return RM(p)->xDeviceCharacteristics(REAL(p)); }
static int wbShmMap(sqlite3_file *p, int i, int s, int e, void volatile **pp){
  if( RM(p)->iVersion<2 ) return SQLITE_IOERR;
  return RM(p)->xShmMap(REAL(p), i, s, e, pp);
}
static int wbShmLock(sqlite3_file *p, int o, int n, int fl){
  if( RM(p)->iVersion<2 ) return SQLITE_IOERR;
  int rc = wbFlushDb(p); if( rc ) return rc;
  return RM(p)->xShmLock(REAL(p), o, n, fl);
}
static void wbShmBarrier(sqlite3_file *p){
  // SQLite publishes a commit after this barrier. Its frames were written
  // with its commit frame (see wbWrite); this only covers writes that did
  // not end with one (it cannot report an error: a failure would be
  // reported by the next operation that flushes).
  wbFlushDb(p);
  if( RM(p)->iVersion>=2 ) RM(p)->xShmBarrier(REAL(p));
}
static int wbShmUnmap(sqlite3_file *p, int d){
  if( RM(p)->iVersion<2 ) return SQLITE_IOERR;
  int rc = wbFlushDb(p); if( rc ) return rc;
  return RM(p)->xShmUnmap(REAL(p), d);
}
static int wbFetch(sqlite3_file *p, sqlite3_int64 o, int n, void **pp){
  if( RM(p)->iVersion<3 ){ *pp = 0; return SQLITE_OK; }
  return RM(p)->xFetch(REAL(p), o, n, pp);
}
static int wbUnfetch(sqlite3_file *p, sqlite3_int64 o, void *pp){
  if( RM(p)->iVersion<3 ) return SQLITE_OK;
  return RM(p)->xUnfetch(REAL(p), o, pp);
}

static int wbOpen(sqlite3_vfs *v, const char *name, sqlite3_file *p, int flags, int *outFlags){
  wbFile *f = (wbFile*)p;
  memset(f, 0, sizeof(*f));
  f->real = (sqlite3_file*)&f[1];
  int rc = wbReal->xOpen(wbReal, name, f->real, flags, outFlags);
  if( rc!=SQLITE_OK || f->real->pMethods==0 ){
    f->base.pMethods = 0;
    return rc;
  }
  f->base.pMethods = &wbIo;
  if( (flags & SQLITE_OPEN_WAL) && name ){
    wbFile *db = (wbFile*)sqlite3_database_file_object(name);
    if( db && db->base.pMethods==&wbIo && db->wal==0 ){
      f->isWal = 1;
      f->db = db;
      db->wal = f;
    }
  }
  return SQLITE_OK;
}
static int wbDelete(sqlite3_vfs *v, const char *n, int s){ return wbReal->xDelete(wbReal, n, s); }
static int wbAccess(sqlite3_vfs *v, const char *n, int fl, int *r){ return wbReal->xAccess(wbReal, n, fl, r); }
static int wbFullPathname(sqlite3_vfs *v, const char *n, int no, char *out){ return wbReal->xFullPathname(wbReal, n, no, out); }
static void *wbDlOpen(sqlite3_vfs *v, const char *n){ return wbReal->xDlOpen(wbReal, n); }
static void wbDlError(sqlite3_vfs *v, int n, char *e){ wbReal->xDlError(wbReal, n, e); }
static void (*wbDlSym(sqlite3_vfs *v, void *h, const char *s))(void){ return wbReal->xDlSym(wbReal, h, s); }
static void wbDlClose(sqlite3_vfs *v, void *h){ wbReal->xDlClose(wbReal, h); }
static int wbRandomness(sqlite3_vfs *v, int n, char *o){ return wbReal->xRandomness(wbReal, n, o); }
static int wbSleep(sqlite3_vfs *v, int us){ return wbReal->xSleep(wbReal, us); }
static int wbCurrentTime(sqlite3_vfs *v, double *t){ return wbReal->xCurrentTime(wbReal, t); }
static int wbGetLastError(sqlite3_vfs *v, int n, char *e){ return wbReal->xGetLastError ? wbReal->xGetLastError(wbReal, n, e) : 0; }
static int wbCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *t){ return wbReal->xCurrentTimeInt64(wbReal, t); }

// wbRegister registers the VFS under name (0: done, else an SQLite error code).
static int wbRegister(const char *name){
  if( sqlite3_libversion_number()<3032000 ) return SQLITE_ERROR; // sqlite3_database_file_object
  wbReal = sqlite3_vfs_find(0);
  if( wbReal==0 ) return SQLITE_ERROR;
  wbIo = (sqlite3_io_methods){3, wbClose, wbRead, wbWrite, wbTruncate, wbSync, wbFileSize, wbLock, wbUnlock,
    wbCheckReservedLock, wbFileControl, wbSectorSize, wbDeviceCharacteristics, wbShmMap, wbShmLock,
    wbShmBarrier, wbShmUnmap, wbFetch, wbUnfetch};
  memset(&wbVfs, 0, sizeof(wbVfs));
  wbVfs.iVersion = 2;
  wbVfs.szOsFile = (int)((sizeof(wbFile)+7)/8*8) + wbReal->szOsFile;
  wbVfs.mxPathname = wbReal->mxPathname;
  wbVfs.zName = name;
  wbVfs.xOpen = wbOpen;
  wbVfs.xDelete = wbDelete;
  wbVfs.xAccess = wbAccess;
  wbVfs.xFullPathname = wbFullPathname;
  wbVfs.xDlOpen = wbDlOpen;
  wbVfs.xDlError = wbDlError;
  wbVfs.xDlSym = wbDlSym;
  wbVfs.xDlClose = wbDlClose;
  wbVfs.xRandomness = wbRandomness;
  wbVfs.xSleep = wbSleep;
  wbVfs.xCurrentTime = wbCurrentTime;
  wbVfs.xGetLastError = wbGetLastError;
  wbVfs.xCurrentTimeInt64 = wbReal->iVersion>=2 && wbReal->xCurrentTimeInt64 ? wbCurrentTimeInt64 : 0;
  if( wbVfs.xCurrentTimeInt64==0 ) wbVfs.iVersion = 1;
  return sqlite3_vfs_register(&wbVfs, 0);
}
*/
import "C"

import "sync"

// sqliteVFSName names the VFS in OpenSQLite's DSN.
const sqliteVFSName = "sqlstore-walbuf"

var (
	vfsOnce sync.Once
	vfsName string
)

// registerVFS registers the VFS (once per process) and returns its name,
// or "" if it cannot be (the SQLite library lacks
// sqlite3_database_file_object, 3.32).
func registerVFS() string {
	vfsOnce.Do(func() {
		if C.wbRegister(C.CString(sqliteVFSName)) == 0 {
			vfsName = sqliteVFSName
		}
	})
	return vfsName
}
