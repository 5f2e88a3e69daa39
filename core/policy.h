// Pure login decisions (no I/O): owned by the module work. See issue 5.
#pragma once
