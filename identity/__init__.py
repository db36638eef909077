"""Who the viewer is: login by SMS code, WeChat or password; tokens; roles at org units."""
