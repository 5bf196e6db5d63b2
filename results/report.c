#include "results.h"
int res_report(const res_data *d, FILE *out, int json) { (void)d; (void)out; (void)json; return 0; }
