#!/bin/sh
# embed_blob.sh INPUT OUTPUT SYMBOL: writes an assembly file that embeds
# INPUT as SYMBOL[] with SYMBOL_end marking its end.
set -eu
in=$(readlink -f "$1")
cat > "$2" <<ASM
	.section .rodata
	.balign 16
	.globl $3
$3:
	.incbin "$in"
	.globl $3_end
$3_end:
	.section .note.GNU-stack,"",@progbits
ASM
