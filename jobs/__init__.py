"""Employment information (就业信息): employers and postings near home, labour profiles,
applications, matching, return-home reports (返乡报备) and employment figures."""
