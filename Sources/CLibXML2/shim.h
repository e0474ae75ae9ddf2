#ifndef CLIBXML2_SHIM_H
#define CLIBXML2_SHIM_H

/* Debian builds libxml2 with ICU, so encoding.h includes the system's <unicode/ucnv.h>, whose
 * definitions clash with Foundation's own ICU module in any Swift module that sees both. Nothing
 * here touches the ICU converter fields (xmlCharEncodingHandler is only used through pointers),
 * so hide them from the importer. */
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED

#include <libxml/xmlreader.h>
#include <libxml/xmlerror.h>
#include <libxml/parser.h>
#include <libxml/xmlmemory.h>
#include <libxml/uri.h>

/// `xmlFree` is a global function-pointer variable in libxml2's headers, which Swift 6 rejects as
/// not concurrency-safe; call it through this inline function instead.
static inline void cxml_free(void *pointer) { xmlFree(pointer); }

#endif
