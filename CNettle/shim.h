/* SHA-256 from nettle. No `link` here: TargetAccess links libnettle.a
 * statically, so the binary does not need libnettle8 at run time. */
#include <nettle/sha2.h>
