"""How the simulated site answers a URL: paths, tokens, live and unpublished years.

The rules of DOMAIN.md sections 2 and 4 and DOMAIN-NOTES section f, as measured on the real
site: header-only 200 for no data, 302 to the error page for an unpublished program year, 500
"URL Rewrite Module Error." for the live year on its archive path (the root serves it), and the
year's last file whatever the date when a date slot of the token is empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

from districts.dashboard.csv import ParsedExport
from districts.dashboard.reports import ReportType
from districts.ids import canonical_district_id

from . import generation
from .exports import SimulatedDashboard
from .periods import ProgramYear, last_of_month
from .rendering import render_export

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"

_ARCHIVE_PATH = re.compile(r"^/(?P<year>\d{4}-\d{4})/export\.aspx$", re.IGNORECASE)


def _runtime_error_page() -> bytes:
    """A server-side failure of the real site: ASP.NET's "Runtime Error" page, status 200.

    Shaped like the real one (DOMAIN-NOTES f): blank lines before the first `<` and about
    8 kB, most of it the stock explanation and the exception comment, so that clients are
    tested against whitespace before the markup rather than a body starting with `<`.
    """
    style = (
        '         body {font-family:"Verdana";font-weight:normal;font-size: .7em;color:black;}\r\n'
        '         p {font-family:"Verdana";font-weight:normal;color:black;margin-top: -5px}\r\n'
        '         b {font-family:"Verdana";font-weight:bold;color:black;margin-top: -5px}\r\n'
        '         H1 { font-family:"Verdana";font-weight:normal;font-size:18pt;color:red }\r\n'
        '         H2 { font-family:"Verdana";font-weight:normal;font-size:14pt;color:maroon }\r\n'
        '         pre {font-family:"Consolas","Lucida Console",Monospace;font-size:11pt;'
        "margin:0;padding:0.5em;line-height:14pt}\r\n"
        "         .marker {font-weight: bold; color: black;text-decoration: none;}\r\n"
        "         .version {color: gray;}\r\n"
        "         .error {margin-bottom: 10px;}\r\n"
        "         .expandable { text-decoration:underline; font-weight:bold; color:navy; "
        "cursor:pointer; }\r\n"
        "         @media screen and (max-width: 639px) {\r\n"
        "          pre { width: 440px; overflow: auto; white-space: pre-wrap; "
        "word-wrap: break-word; }\r\n"
        "         }\r\n"
    )
    explanation = (
        "An application error occurred on the server. The current custom error settings for "
        "this application prevent the details of the application error from being viewed "
        "remotely (for security reasons). It could, however, be viewed by browsers running on "
        "the local server machine."
    )
    off_config = (
        "&lt;!-- Web.Config Configuration File --&gt;\r\n\r\n&lt;configuration&gt;\r\n"
        "    &lt;system.web&gt;\r\n"
        "        &lt;customErrors mode=&quot;Off&quot;/&gt;\r\n"
        "    &lt;/system.web&gt;\r\n&lt;/configuration&gt;"
    )
    redirect_config = off_config.replace(
        "mode=&quot;Off&quot;",
        "mode=&quot;RemoteOnly&quot; defaultRedirect=&quot;mycustompage.htm&quot;",
    )
    trace = "".join(
        f"   at {frame}\r\n"
        for frame in (
            "Dashboards.Export.BuildClubPerformance(String district, DateTime monthEnd)",
            "Dashboards.Export.WriteCsv(HttpResponse response, String report)",
            "Dashboards.Export.Page_Load(Object sender, EventArgs e)",
            "System.Web.Util.CalliEventHandlerDelegateProxy.Callback(Object sender, EventArgs e)",
            "System.Web.UI.Control.OnLoad(EventArgs e)",
            "System.Web.UI.Control.LoadRecursive()",
            "System.Web.UI.Page.ProcessRequestMain(Boolean includeStagesBeforeAsyncPoint, "
            "Boolean includeStagesAfterAsyncPoint)",
            "System.Web.UI.Page.HandleError(Exception e)",
            "System.Web.UI.Page.ProcessRequest(Boolean includeStagesBeforeAsyncPoint, "
            "Boolean includeStagesAfterAsyncPoint)",
            "System.Web.UI.Page.ProcessRequest()",
            "System.Web.UI.Page.ProcessRequestWithNoAssert(HttpContext context)",
            "System.Web.UI.Page.ProcessRequest(HttpContext context)",
            "ASP.export_aspx.ProcessRequest(HttpContext context)",
            "System.Web.HttpApplication.CallHandlerExecutionStep.System.Web.HttpApplication."
            "IExecutionStep.Execute()",
        )
    )
    data_trace = "".join(
        f"   at {frame}\r\n"
        for frame in (
            "System.Data.SqlClient.SqlConnection.OnError(SqlException exception, "
            "Boolean breakConnection, Action`1 wrapCloseInAction)",
            "System.Data.SqlClient.TdsParser.ThrowExceptionAndWarning(TdsParserStateObject "
            "stateObj, Boolean callerHasConnectionLock, Boolean asyncClose)",
            "System.Data.SqlClient.TdsParser.TryRun(RunBehavior runBehavior, SqlCommand "
            "cmdHandler, SqlDataReader dataStream, BulkCopySimpleResultSet bulkCopyHandler, "
            "TdsParserStateObject stateObj, Boolean& dataReady)",
            "System.Data.SqlClient.SqlDataReader.TryConsumeMetaData()",
            "System.Data.SqlClient.SqlDataReader.get_MetaData()",
            "System.Data.SqlClient.SqlCommand.FinishExecuteReader(SqlDataReader ds, "
            "RunBehavior runBehavior, String resetOptionsString, Boolean isInternal, "
            "Boolean forDescribeParameterEncryption, Boolean shouldCacheForAlwaysEncrypted)",
            "System.Data.SqlClient.SqlCommand.RunExecuteReaderTds(CommandBehavior cmdBehavior, "
            "RunBehavior runBehavior, Boolean returnStream, Boolean async, Int32 timeout, "
            "Task& task, Boolean asyncWrite, Boolean inRetry, SqlDataReader ds, "
            "Boolean describeParameterEncryptionRequest)",
            "System.Data.SqlClient.SqlCommand.ExecuteReader(CommandBehavior behavior)",
            "System.Data.Common.DbDataAdapter.FillInternal(DataSet dataset, DataTable[] "
            "datatables, Int32 startRecord, Int32 maxRecords, String srcTable, IDbCommand "
            "command, CommandBehavior behavior)",
            "System.Data.Common.DbDataAdapter.Fill(DataSet dataSet, Int32 startRecord, "
            "Int32 maxRecords, String srcTable, IDbCommand command, CommandBehavior behavior)",
            "Dashboards.Data.ClubPerformance.Load(String district, DateTime monthEnd)",
        )
    )
    page = (
        "\r\n\r\n"
        "<!DOCTYPE html>\r\n<html>\r\n    <head>\r\n"
        "        <title>Runtime Error</title>\r\n"
        '        <meta name="viewport" content="width=device-width" />\r\n'
        f"        <style>\r\n{style}        </style>\r\n    </head>\r\n\r\n"
        '    <body bgcolor="white">\r\n\r\n'
        "            <span><H1>Server Error in '/' Application.<hr width=100% size=1 "
        "color=silver></H1>\r\n\r\n"
        "            <h2> <i>Runtime Error</i> </h2></span>\r\n\r\n"
        '            <font face="Arial, Helvetica, Geneva, SunSans-Regular, sans-serif ">\r\n\r\n'
        f"            <b> Description: </b>{explanation}\r\n            <br><br>\r\n\r\n"
        "            <b>Details:</b> To enable the details of this specific error message to be "
        "viewable on remote machines, please create a &lt;customErrors&gt; tag within a "
        "&quot;web.config&quot; configuration file located in the root directory of the current "
        "web application. This &lt;customErrors&gt; tag should then have its "
        "&quot;mode&quot; attribute set to &quot;Off&quot;.<br><br>\r\n\r\n"
        '            <table width=100% bgcolor="#ffffcc">\r\n               <tr>\r\n'
        f"                  <td>\r\n                      <code><pre>\r\n\r\n{off_config}"
        "</pre></code>\r\n\r\n                  </td>\r\n               </tr>\r\n"
        "            </table>\r\n\r\n            <br>\r\n\r\n"
        "            <b>Notes:</b> The current error page you are seeing can be replaced by a "
        "custom error page by modifying the &quot;defaultRedirect&quot; attribute of the "
        "application's &lt;customErrors&gt; configuration tag to point to a custom error page "
        "URL.<br><br>\r\n\r\n"
        '            <table width=100% bgcolor="#ffffcc">\r\n               <tr>\r\n'
        f"                  <td>\r\n                      <code><pre>\r\n\r\n{redirect_config}"
        "</pre></code>\r\n\r\n                  </td>\r\n               </tr>\r\n"
        "            </table>\r\n\r\n            <br>\r\n\r\n    </body>\r\n</html>\r\n"
        "<!-- \r\n[SqlException]: Execution Timeout Expired.  The timeout period elapsed "
        "prior to completion of the operation or the server is not responding.\r\n"
        f"{data_trace}"
        "[NullReferenceException]: Object reference not set to an instance of an "
        f"object.\r\n{trace}"
        "[HttpUnhandledException]: Exception of type 'System.Web.HttpUnhandledException' was "
        f"thrown.\r\n{trace}"
        "   at System.Web.HttpApplication.ExecuteStep(IExecutionStep step, "
        "Boolean& completedSynchronously)\r\n"
        "[HttpException (0x80004005): Exception of type 'System.Web.HttpUnhandledException' "
        "was thrown.]\r\n"
        "   at System.Web.HttpApplication.PipelineStepManager.ResumeSteps(Exception error)\r\n"
        "   at System.Web.HttpApplication.BeginProcessRequestNotification(HttpContext context, "
        "AsyncCallback cb)\r\n"
        "   at System.Web.HttpRuntime.ProcessRequestNotificationPrivate(IIS7WorkerRequest wr, "
        "HttpContext context)\r\n"
        "   at System.Web.Hosting.PipelineRuntime.ProcessRequestNotificationHelper(IntPtr "
        "rootedObjectsPointer, IntPtr nativeRequestContext, IntPtr moduleData, Int32 flags)\r\n"
        "-->\r\n"
        "<!-- Version Information: Microsoft .NET Framework Version:4.0.30319; "
        "ASP.NET Version:4.8.4797.0 -->\r\n"
    )
    return page.encode()


ERROR_PAGE = _runtime_error_page()
REWRITE_ERROR_PAGE = (
    b"<!DOCTYPE html>\r\n<html>\r\n<head><title>500 - Internal server error.</title></head>\r\n"
    b"<body>\r\n<h1>HTTP Error 500.52 - URL Rewrite Module Error.</h1>\r\n"
    b"<p>URL Rewrite Module Error.</p>\r\n</body>\r\n</html>\r\n"
)
NOT_FOUND_PAGE = (
    b"<!DOCTYPE html>\r\n<html>\r\n<head><title>404 - File or directory not found.</title>"
    b"</head>\r\n<body><h1>404 - File or directory not found.</h1></body>\r\n</html>\r\n"
)


def _object_moved(location: str) -> bytes:
    return (
        f'<html><head><title>Object moved</title></head><body>\r\n<h2>Object moved to <a href="'
        f'{location}">here</a>.</h2>\r\n</body></html>\r\n'
    ).encode()


@dataclass(frozen=True)
class ExportToken:
    """The `report` parameter: `{type}~{district}~{monthEnd}~{asOf}~{PY}` (no district for the
    summary). Empty date slots are None."""

    report: ReportType
    district_id: str | None
    month_end: date | None
    as_of: date | None
    program_year: str


def _token_date(text: str) -> date | None:
    if not text.strip():
        return None
    month, day, year = (int(part) for part in text.strip().split("/"))
    return date(year, month, day)


def parse_token(text: str) -> ExportToken:
    """Parse an export token; raises ValueError for an unknown report or malformed slot."""
    parts = text.split("~")
    report = ReportType(parts[0].strip().lower())
    expected = 4 if report == ReportType.DISTRICT_SUMMARY else 5
    if len(parts) != expected:
        raise ValueError(f"{report} token needs {expected} segments: {text!r}")
    district = None if report == ReportType.DISTRICT_SUMMARY else parts[1].strip()
    if district is not None:
        canonical_district_id(district)  # a malformed id raises InvalidDistrictId, a ValueError
    month_end, as_of, program_year = parts[-3], parts[-2], parts[-1].strip()
    return ExportToken(
        report=report,
        district_id=district,
        month_end=_token_date(month_end),
        as_of=_token_date(as_of),
        program_year=program_year,
    )


def _in_site_form(district_id: str | None) -> bool:
    """Whether a token's district id is spelled as the site spells it in its own URLs: numbers
    zero-padded to two digits as in the summary (`"02"`, `"21"`, `"128"`), letters as they are.

    What the real site answers to an unpadded `"2"` was never measured; the simulator answers
    it header-only, like an unknown district, so that a collector sending it is caught.
    """
    if district_id is None:
        return True
    canonical = canonical_district_id(district_id)
    return district_id == generation.summary_district_id(canonical)


@dataclass(frozen=True)
class SiteResponse:
    """One answer of the site; `export` is the CSV served, if any (fault injection re-renders
    it), `token` the parsed request for the request log."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()
    token: ExportToken | None = None
    export: ParsedExport | None = None


def csv_response(export: ParsedExport, token: ExportToken | None) -> SiteResponse:
    return SiteResponse(
        status=200,
        body=render_export(export),
        content_type=CSV_CONTENT_TYPE,
        headers=(("Content-Disposition", f"attachment; filename={export.report.value}.csv"),),
        token=token,
        export=export,
    )


def html_response(status: int, body: bytes, token: ExportToken | None = None) -> SiteResponse:
    return SiteResponse(status=status, body=body, content_type=HTML_CONTENT_TYPE, token=token)


class DashboardSite:
    """The site's answers for a day `today` (None: the real current date)."""

    def __init__(self, *, dashboard: SimulatedDashboard, today: date | None = None) -> None:
        self.dashboard = dashboard
        self.today_override = today

    @property
    def today(self) -> date:
        return self.today_override or date.today()

    @property
    def live_program_year(self) -> ProgramYear:
        """The program year containing today: served only at the root path."""
        return ProgramYear.of(self.today)

    @property
    def latest_as_of(self) -> date:
        """The dashboard's data is as of the previous day."""
        return self.today - timedelta(days=1)

    def respond(self, path: str, params: Mapping[str, str]) -> SiteResponse:
        """The answer to `GET path?params` (params: first value of each query parameter).

        As-of dates from today on have no data yet (the site's data is as of yesterday).
        """
        lowered = path.lower()
        if lowered == "/export.aspx":
            return self._export(params, archive_year=None)
        match = _ARCHIVE_PATH.match(path)
        if match:
            year = ProgramYear.parse(match["year"])
            if year.start < generation.FIRST_PROGRAM_YEAR or year > self.live_program_year:
                location = f"/error.aspx?aspxerrorpath=/{match['year']}/export.aspx"
                return SiteResponse(
                    status=302,
                    body=_object_moved(location),
                    content_type=HTML_CONTENT_TYPE,
                    headers=(("Location", location),),
                )
            if year == self.live_program_year:
                return html_response(500, REWRITE_ERROR_PAGE)
            return self._export(params, archive_year=year)
        if lowered in ("/error.aspx", "/", "/default.aspx"):
            return html_response(200, ERROR_PAGE)
        return html_response(404, NOT_FOUND_PAGE)

    def _export(
        self, params: Mapping[str, str], *, archive_year: ProgramYear | None
    ) -> SiteResponse:
        try:
            if params.get("type", "").upper() != "CSV":
                raise ValueError("type must be CSV")
            token = parse_token(params.get("report", ""))
            if archive_year is not None and token.program_year != str(archive_year):
                ProgramYear.parse(token.program_year)
        except ValueError:
            return html_response(200, ERROR_PAGE)
        if archive_year is None:
            export = self._root_export(token)
        else:
            export = self._archive_export(token, archive_year)
        if not _in_site_form(token.district_id):
            export = replace(export, rows=())
        return csv_response(export, token)

    def _archive_export(self, token: ExportToken, year: ProgramYear) -> ParsedExport:
        if token.month_end is None or token.as_of is None:
            # The original project's worst bug: the same final file for every date.
            final = self.dashboard.final_export(
                report=token.report, district_id=token.district_id, program_year=str(year)
            )
            return replace(final, footer=replace(final.footer, as_of=self.today))
        export = self.dashboard.export(
            report=token.report,
            district_id=token.district_id,
            month_end=token.month_end,
            as_of=token.as_of,
            program_year=str(year),
        )
        if token.program_year != str(year) or token.as_of > self.latest_as_of:
            return replace(export, rows=())
        return export

    def _root_export(self, token: ExportToken) -> ParsedExport:
        # The root ignores the token's program year and serves only the live one.
        live = str(self.live_program_year)
        if token.month_end is None or token.as_of is None:
            as_of = self.latest_as_of
            month_end = last_of_month(self.dashboard.calendar.data_month_of(as_of))
        else:
            month_end, as_of = token.month_end, token.as_of
        export = self.dashboard.export(
            report=token.report,
            district_id=token.district_id,
            month_end=month_end,
            as_of=as_of,
            program_year=live,
        )
        if as_of > self.latest_as_of:
            return replace(export, rows=())
        return export
