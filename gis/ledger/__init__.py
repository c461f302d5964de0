"""台账: meetings (会议), the document shelf (文件柜) and the yearly ledger workbook of a grid."""
