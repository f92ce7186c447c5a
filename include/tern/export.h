// TERN_EXPORT marks the symbols of libtern.so that users may call. Everything
// else is hidden (-fvisibility=hidden), as LevelDB does with LEVELDB_EXPORT.
#ifndef TERN_EXPORT_H_
#define TERN_EXPORT_H_

#if defined(TERN_BUILDING_LIBRARY)
#define TERN_EXPORT [[gnu::visibility("default")]]
#else
#define TERN_EXPORT
#endif

#endif  // TERN_EXPORT_H_
