"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

from jobline.core.process import freeze_loaded_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobline.settings")
application = get_wsgi_application()
freeze_loaded_objects()
