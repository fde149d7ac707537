// librime (Debian's RIME input method engine): the citizen's pinyin input.
#include <rime_api.h>
