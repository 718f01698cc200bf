"""The addresses the API's answers carry, derived from the routes by name, so a route's path
is written once: in its decorator."""

from uuid import UUID

from starlette.applications import Starlette

from service.kernel.signing import sign_path


class Links:
    """Paths of named routes. Addresses a client may fetch from elsewhere (content, presigned
    uploads) are absolute, on EDITROOM_PUBLIC_URL, never on the Host a request came with: a
    Host is the client's to choose, and copied into URLs it points uploads elsewhere."""

    def __init__(
        self, app: Starlette, *, base_url: str, url_signing_key: bytes | None = None
    ) -> None:
        self._app = app
        self._base_url = base_url
        self._url_signing_key = url_signing_key
        self._templates: dict[str, str] = {}

    def absolute(self, path: str) -> str:
        return f"{self._base_url}{path}"

    def media(self, media_id: UUID) -> str:
        return self._path("get_media", media_id=media_id)

    def content(self, media_id: UUID) -> str:
        return self.absolute(self._path("content", media_id=media_id))

    def upload_data(self, media_id: UUID) -> str:
        return self.absolute(self._path("put_upload_data", media_id=media_id))

    def complete_upload(self, media_id: UUID) -> str:
        return self.absolute(self._path("complete_upload", media_id=media_id))

    def result(self, media_id: UUID | None, query: str | None) -> str | None:
        """The GET address of an edit's result, `/media/{id}/{operations as written}`,
        signed when EDITROOM_URL_SIGNING_KEY is set; None for what no address reads (an
        import, an edit whose media is gone)."""
        if media_id is None or not query:
            return None
        template = self._templates.get("result")
        if template is None:
            template = self._app.url_path_for("result", media_id="{0}", operations="{1}")
            self._templates["result"] = template
        path = template.format(media_id, query)
        if self._url_signing_key is not None:
            path += f"?signature={sign_path(self._url_signing_key, path)}"
        return self.absolute(path)

    def edit(self, edit_id: UUID) -> str:
        return self._path("get_edit", edit_id=edit_id)

    def edit_events(self, edit_id: UUID) -> str:
        return self._path("edit_events", edit_id=edit_id)

    def session(self, session_id: UUID) -> str:
        return self._path("get_session", session_id=session_id)

    def workflow(self, workflow_id: UUID) -> str:
        return self._path("get_workflow", workflow_id=workflow_id)

    def executions(self, workflow_id: UUID) -> str:
        return self._path("executions", workflow_id=workflow_id)

    def _path(self, name: str, **params: UUID) -> str:
        # The app is asked once per route: asking it costs ~0.1 ms (it tries every route),
        # and a page of 500 edits needs more than 1,500 paths.
        template = self._templates.get(name)
        if template is None:
            placeholders = {param: f"{{{param}}}" for param in params}
            template = self._templates[name] = self._app.url_path_for(name, **placeholders)
        return template.format(**params)
