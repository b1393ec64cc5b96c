# scripts/uninit-structs.awk -- prints every local struct (or struct pointer)
# declared inside a function body without an initialiser, as FILE:LINE: text.
# A fixture filled field by field must start zeroed: a member left out then
# reads as 0/NULL, not as whatever the stack held (a test once called a
# garbage function pointer that way).  Static locals are zeroed by C itself.
FNR == 1 { infn = 0 }
/^\{/ { infn = 1; next }
/^\}/ { infn = 0; next }
infn && /^[ \t]+(const[ \t]+)?struct[ \t]+[A-Za-z_0-9]+[ \t]+[^=;(){}]+;/ && !/=/ {
	print FILENAME ":" FNR ": " $0
}
