umask 022
PATH=/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}
LC_ALL=C
export PATH LC_ALL
DRY_RUN=${DRY_RUN:-0}
FORCE=${FORCE:-0}
BK=''
REFUSED=0
PENDING=0
TODO=''
