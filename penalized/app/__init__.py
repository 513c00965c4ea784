"""The application: tables in (``io``), model folders (``persistence``), the HTML
report and the command line. It uses the library; the library never imports it."""
