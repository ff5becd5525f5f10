
given=$ROOT
ROOT=$(cd -- "$given" 2>/dev/null && pwd -P) || die "ROOT=$given is not a directory"
