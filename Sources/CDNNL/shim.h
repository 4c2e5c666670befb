#ifndef CTD_CDNNL_SHIM_H
#define CTD_CDNNL_SHIM_H
// oneDNN 2.x (Debian 12's libdnnl-dev 2.6.3); headers live under oneapi/dnnl/.
#include <oneapi/dnnl/dnnl.h>

// DNNL_ARG_* are nested object-like macros; Swift imports simple integer macros but not every
// chain reliably, so the ones ctd uses are restated as constants here.
static const int ctd_arg_src = DNNL_ARG_SRC;
static const int ctd_arg_dst = DNNL_ARG_DST;
static const int ctd_arg_weights = DNNL_ARG_WEIGHTS;
static const int ctd_arg_bias = DNNL_ARG_BIAS;
static const int ctd_arg_mean = DNNL_ARG_MEAN;
static const int ctd_arg_variance = DNNL_ARG_VARIANCE;
static const int ctd_arg_scale = DNNL_ARG_SCALE;
static const int ctd_arg_shift = DNNL_ARG_SHIFT;
static const int ctd_arg_workspace = DNNL_ARG_WORKSPACE;
static const int ctd_arg_diff_src = DNNL_ARG_DIFF_SRC;
static const int ctd_arg_diff_dst = DNNL_ARG_DIFF_DST;
static const int ctd_arg_diff_weights = DNNL_ARG_DIFF_WEIGHTS;
static const int ctd_arg_diff_bias = DNNL_ARG_DIFF_BIAS;
static const int ctd_arg_diff_scale = DNNL_ARG_DIFF_SCALE;
static const int ctd_arg_diff_shift = DNNL_ARG_DIFF_SHIFT;
#endif
