#ifndef CLIBXML2_SHIM_H
#define CLIBXML2_SHIM_H

#include <libxml/xmlreader.h>
#include <libxml/xmlerror.h>
#include <libxml/parser.h>
#include <libxml/xmlmemory.h>

/// `xmlFree` is a global function-pointer variable in libxml2's headers, which Swift 6 rejects as
/// not concurrency-safe; call it through this inline function instead.
static inline void cxml_free(void *pointer) { xmlFree(pointer); }

#endif
